"""A metrics file without the order lifecycle's metrics (no shops, no wait times): the new panels
say which metric they lack, the shop selector offers only all shops, the comparison has no
figure it cannot compute, and nothing breaks."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from presso_metrics.bootstrap import default_metrics_text
from tests.browser.support import LOAD_TIMEOUT_MS, open_page, serve, table, write_counters

D1, D2 = "2024-05-01", "2024-05-02"


def test_panels_without_their_metrics_say_so(browser: Browser, tmp_path: Path) -> None:
    text = default_metrics_text()
    sales = text[text.index("[metrics.sales]") : text.index("[metrics.sales_by_shop]")]
    metrics_file = tmp_path / "sales-only.toml"
    metrics_file.write_text(f'time_zone = "UTC"\n\n{sales}')
    db = tmp_path / "sales-only.db"
    write_counters(
        db,
        {
            ("sales", D1, "Latte"): 4,
            ("sales", D1, "TotalSales"): 4,
            ("sales", D2, "Latte"): 6,
            ("sales", D2, "TotalSales"): 6,
        },
        metrics_file=metrics_file,
    )
    env = {"PRESSO_METRICS_DB": str(db), "PRESSO_METRICS_FILE": str(metrics_file)}
    with serve(env) as (url, _):
        page = open_page(browser)
        page.goto(f"{url}/?from={D2}&to={D2}&shop=NYC")
        page.wait_for_selector(f"body[data-loaded='{D2}..{D2}']", timeout=LOAD_TIMEOUT_MS)
        for panel, metric in [
            ("#cancel-rates-table", "“cancellations”"),
            ("#wait-daily-table", "“wait_time”"),
            ("#wait-hourly-table", "“hourly_wait_time”"),
        ]:
            body = table(page, panel)[1:]
            assert body == [[f"metric {metric} is not in this metrics file"]], (panel, body)
        assert page.is_disabled("#shop")
        assert page.eval_on_selector_all("#shop option", "os => os.map(o => o.textContent)") == [
            "‹all shops›"
        ]
        status = page.text_content("#status") or ""
        assert status.startswith(f"6 drinks sold from {D2} to {D2}. No shop “NYC” has data")
        cards = page.eval_on_selector_all(
            ".trend-card",
            "cs => cs.map(c => [c.querySelector('.now').textContent, c.dataset.verdict])",
        )
        assert cards == [["6", "better"], ["–", "none"], ["–", "none"]]  # 4 sold the day before
        assert page.text_content("#trend-sales .change") == "▲ +2 (+50.0 %)"
        assert page.errors == []  # type: ignore[attr-defined]
        page.close()
