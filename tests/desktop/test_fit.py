"""At 900×600 no page (every one in the sidebar) scrolls sideways, and the Providers table shows
its Key and Status columns even for a provider with a long base URL (issue 22, item 9)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QTreeWidget

from desktop.windows.main import PAGES, MainWindow
from proxy.api import ProviderConfig

LONG_URL = "https://a-very-long-host-name-for-a-provider.openai.azure-example.com/openai/deployments/v1"


def test_no_sideways_scroll_at_900_by_600(qtbot, started) -> None:
    with qtbot.waitSignal(started.config.answered, timeout=10000):
        started.providers.save(
            ProviderConfig.model_validate({"id": "far", "preset": "custom", "base_url": LONG_URL}), None
        )
    window = MainWindow(started)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    for name in PAGES:
        window.show_page(name)
        page = window.current_page()
        qtbot.waitUntil(lambda page=page: page.isVisible(), timeout=3000)
        QApplication.processEvents()
        sideways = [
            type(a).__name__ for a in page.findChildren(QAbstractScrollArea) if a.horizontalScrollBar().isVisible()
        ]
        assert sideways == [], f"{name} scrolls sideways in {sideways}"
    window.show_page("Providers & keys")
    tree = next(t for t in window.current_page().findChildren(QTreeWidget) if t.accessibleName() == "Providers")
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2, timeout=5000)
    QApplication.processEvents()
    header = tree.header()
    for column in (3, 4):  # Key, Status
        assert header.sectionPosition(column) + header.sectionSize(column) <= tree.viewport().width()
        assert header.sectionSize(column) >= tree.fontMetrics().horizontalAdvance(tree.headerItem().text(column))
