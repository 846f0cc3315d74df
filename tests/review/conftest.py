from tests.review.support import stores  # noqa: F401 - fixture
