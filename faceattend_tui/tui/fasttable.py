"""A keyboard-navigable table that draws only the lines on screen.

Textual's DataTable measures every cell when rows change, which takes about half a second per
redraw with a roster of 5,000 people. This table keeps plain rows in a list, filters with one
pass over the names, and renders only the visible lines, so every change costs the same at 50
people or 50,000.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from faceattend_tui.station import printable
from faceattend_tui.text import fold
from faceattend_tui.tui.wheel import WheelMovesCursor

Cell = str | tuple[str, str]  # text, or (text, rich style)


def cell_text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def shortened(text: str, room: int) -> str:
    """`text` in at most `room` screen columns, "…" marking a cut (shown whole where there is room)."""
    if cell_len(text) <= room:
        return text
    return set_cell_size(text, room - 1).rstrip() + "…"


class FastTable(WheelMovesCursor, ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "edge(0)", show=False),
        Binding("end", "edge(1)", show=False),
        Binding("enter", "select", show=False),
        Binding("left", "sideways(-8)", show=False),
        Binding("right", "sideways(8)", show=False),
    ]
    COMPONENT_CLASSES = {"fasttable--header", "fasttable--cursor", "fasttable--cursor-blurred", "fasttable--odd"}
    DEFAULT_CSS = """
    FastTable { height: 1fr; overflow-x: auto; overflow-y: auto; scrollbar-size-horizontal: 1; }
    FastTable > .fasttable--header { background: $panel; text-style: bold; }
    FastTable > .fasttable--cursor { background: $primary; color: $text; }
    FastTable > .fasttable--cursor-blurred { background: $panel-lighten-1; }
    FastTable > .fasttable--odd { background: $boost; }
    """
    cursor = reactive(0)

    class Selected(Message):
        def __init__(self, table: FastTable, key: str) -> None:
            super().__init__()
            self.table, self.key = table, key

    def __init__(self, columns: list[tuple[str, int]], *, flex: int = 0, flex_cap: int = 0,
                 grow: dict[int, int] | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.columns = list(columns)
        self.grow = grow or {}  # columns that widen to their longest text, up to a cap (a site's own codes)
        self.flex = flex  # the column that takes any room left over...
        self.flex_cap = flex_cap  # ...up to this width (0: no cap), the rest going to the last column
        self.rows: dict[str, tuple[Cell, ...]] = {}
        self.order: list[str] = []  # all keys, in display order
        self.shown: list[str] = []  # keys passing the filter
        self.needle = ""
        self._styles: dict[str, Style] = {}  # cell styles resolved for _styles_theme
        self._styles_theme: str | None = None

    # -- data

    @property
    def row_count(self) -> int:
        return len(self.shown)

    def set_rows(self, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        """Replace every row (key, cells), keeping the cursor on the same key where possible."""
        selected = self.selected
        self._fit([cells for _, cells in rows])
        self.rows = dict(rows)
        self.order = [key for key, _ in rows]
        self._refilter(selected)

    def put(self, key: str, cells: tuple[Cell, ...], first: bool = False) -> None:
        """Add or change one row; a new row goes to the end, or to the top when `first`."""
        self._fit([cells])
        if key not in self.rows:
            if first:
                self.order.insert(0, key)
            else:
                self.order.append(key)
            self.rows[key] = cells
            self._refilter(self.selected, keep_top=first)
            return
        self.rows[key] = cells
        self.refresh()

    def _fit(self, rows: Sequence[tuple[Cell, ...]]) -> None:
        """The growing columns widened to the longest of these cells (never narrowed)."""
        for column, cap in self.grow.items():
            label, width = self.columns[column]
            wanted = min(cap, max((cell_len(cell_text(r[column])) for r in rows if len(r) > column), default=0))
            if wanted > width:
                self.columns[column] = (label, wanted)
                self.virtual_size = Size(self._width(), len(self.shown) + 1)

    def trim(self, limit: int) -> None:
        """Keep the first `limit` rows (drop the oldest at the end)."""
        for key in self.order[limit:]:
            del self.rows[key]
        if len(self.order) > limit:
            self.order = self.order[:limit]
            self._refilter(self.selected)

    def apply_filter(self, needle: str) -> None:
        """Show only rows whose key or first cell holds each word of `needle`, in any order, case and accents
        aside ("celine": Céline, "bob marr": Marr, Bob)."""
        self.needle = fold(needle.strip())
        self._refilter(self.selected)

    def _searchable(self, key: str) -> str:
        first = self.rows[key][0] if self.rows[key] else ""
        return fold(f"{key} {first if isinstance(first, str) else first[0]}")

    def _refilter(self, selected: str | None, keep_top: bool = False) -> None:
        needle = self.needle
        words = needle.split()
        self.shown = [k for k in self.order if all(w in self._searchable(k) for w in words)] if words \
            else list(self.order)
        self.virtual_size = Size(self._width(), len(self.shown) + 1)
        if selected in self.rows and not keep_top:
            self.cursor = self.shown.index(selected) if selected in self.shown else 0
        else:
            self.cursor = min(self.cursor, max(len(self.shown) - 1, 0))
        self.refresh()

    def _width(self) -> int:
        return sum(width + 1 for width in self._widths())

    @property
    def room(self) -> int:
        """The columns' width: the content's, less a vertical scroll bar when one shows."""
        return self.scrollable_content_region.width

    def _widths(self) -> list[int]:
        """Column widths; the flexible one (the name) takes any room left over, up to its cap."""
        widths = [width for _, width in self.columns]
        spare = self.room - sum(w + 1 for w in widths)
        if spare > 0:
            grow = min(spare, max(self.flex_cap - widths[self.flex], 0)) if self.flex_cap else spare
            widths[self.flex] += grow
            widths[-1] += spare - grow
        return widths

    @property
    def selected(self) -> str | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    def select(self, key: str) -> None:
        if key in self.shown:
            self.cursor = self.shown.index(key)

    def cells(self, index: int) -> tuple[str, ...]:
        """Plain text of a visible row (for tests and copying)."""
        return tuple(cell_text(c) for c in self.rows[self.shown[index]])

    # -- keys

    def action_move(self, step: int) -> None:
        self.cursor = max(0, min(self.cursor + step, len(self.shown) - 1))

    def wheel_move(self, rows: int) -> bool:
        before = self.cursor
        self.action_move(rows)
        return self.cursor != before

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.size.height - 2, 1))

    def action_edge(self, end: int) -> None:
        self.cursor = len(self.shown) - 1 if end else 0

    def action_sideways(self, step: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + step), animate=False)

    def on_click(self, event: events.Click) -> None:
        """A click selects the row under the pointer."""
        index = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.shown):
            self.cursor = index
        self.focus()

    def on_resize(self) -> None:
        self.virtual_size = Size(self._width(), len(self.shown) + 1)

    def action_select(self) -> None:
        if self.selected is not None:
            self.post_message(self.Selected(self, self.selected))

    def watch_cursor(self, cursor: int) -> None:
        top = self.scroll_offset.y
        rows = max(self.size.height - 1, 1)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)
        elif cursor >= top + rows:
            self.scroll_to(y=cursor - rows + 1, animate=False)
        self.refresh()

    # -- drawing

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("fasttable--header")
            return self._strip([(label, "") for label, _ in self.columns], base + header)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.shown):
            return Strip.blank(self.room, base)
        style = base
        if index == self.cursor:  # the cursor's own colours: a status colour on it may be unreadable (NO_COLOR)
            name = "fasttable--cursor" if self.has_focus else "fasttable--cursor-blurred"
            return self._strip(self.rows[self.shown[index]], base + self.get_component_rich_style(name), plain=True)
        if index % 2:
            style = base + self.get_component_rich_style("fasttable--odd")
        return self._strip(self.rows[self.shown[index]], style)

    def _strip(self, cells: Sequence[Cell], style: Style, plain: bool = False) -> Strip:
        segments = self.segments(cells, self._widths(), style, plain)
        used = sum(cell_len(s.text) for s in segments)
        if used < self.room:
            segments.append(Segment(" " * (self.room - used), style))
        return Strip(segments).crop(self.scroll_offset.x, self.scroll_offset.x + self.room)

    def segments(self, cells: Sequence[Cell], widths: list[int], style: Style, plain: bool = False) -> list[Segment]:
        """One segment per cell, cut or padded to its column by the room its characters take on screen (a
        Chinese character takes two, an accent apart none); stored text cannot drive the terminal. `plain`:
        in the row's style only (the cursor's row, whose colours a cell's must not fight)."""
        out = []
        for cell, width in zip(cells, widths, strict=False):
            text, cell_style = (cell, "") if isinstance(cell, str) else cell
            text = set_cell_size(shortened(printable(text), width), width) + " "
            out.append(Segment(text, style + self._style(cell_style) if cell_style and not plain else style))
        return out

    def _style(self, name: str) -> Style:
        """A cell style; "$warning" and the like are the theme's colours, so light themes stay readable.

        Resolved once per theme: working out the theme's colours costs about a millisecond."""
        if self._styles_theme != self.app.theme:
            self._styles, self._styles_theme = {}, self.app.theme
        if name not in self._styles:
            self._styles[name] = self._resolve(name)
        return self._styles[name]

    def _resolve(self, name: str) -> Style:
        if name.startswith("$"):
            colour = self.app.get_css_variables().get(name[1:])
            return Style(color=colour, bold=True) if colour else Style()
        return Style.parse(name)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
