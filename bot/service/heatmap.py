"""When clients make contact, as a picture: weekday × hour, shaded by count, open hours outlined.

Drawn with Pillow into PNG bytes; the grid's geometry is public (`cell_box`) so a test can read a
cell's pixels back.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont

from rules.calendar import WeeklyHours
from rules.localtime import time_zone
from rules.texts import DAY_NAMES

DAYS = DAY_NAMES
CELL = 28  # pixels per hour cell, square
LEFT = 44  # room for the weekday labels
TOP = 44  # room for the title and the hour labels
BOTTOM = 30  # room for the legend
RIGHT = 8
WIDTH = LEFT + 24 * CELL + RIGHT
HEIGHT = TOP + 7 * CELL + BOTTOM

BACKGROUND = (255, 255, 255)
EMPTY = (244, 244, 244)  # an hour nobody wrote in
LIGHT = (222, 235, 247)  # the fewest messages
DARK = (8, 48, 107)  # the most messages
OPEN = (46, 160, 67)  # the outline of an open hour
INK = (40, 40, 40)

Grid = Sequence[Sequence[int]]


def count_grid(times: Iterable[datetime], zone: str) -> list[list[int]]:
    """How many of `times` fall in each (weekday, hour) on the wall clock of `zone`."""
    tz = time_zone(zone)
    grid = [[0] * 24 for _ in range(7)]
    for when in times:
        local = when.astimezone(tz)
        grid[local.weekday()][local.hour] += 1
    return grid


def open_grid(weekly: WeeklyHours) -> list[list[bool]]:
    """Whether any open range touches each (weekday, hour); ranges past midnight spill over."""
    grid = [[False] * 24 for _ in range(7)]
    for day, ranges in enumerate(weekly.days):
        for start, end in ranges:
            for minute in range(start - start % 60, end, 60):
                grid[(day + minute // 1440) % 7][minute % 1440 // 60] = True
    return grid


def cell_box(day: int, hour: int) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom; inclusive) of a weekday's hour cell."""
    left, top = LEFT + hour * CELL, TOP + day * CELL
    return left, top, left + CELL - 1, top + CELL - 1


def shade(count: int, most: int) -> tuple[int, int, int]:
    """The fill of a cell: light grey for none, light to dark blue up to the busiest hour."""
    if count <= 0 or most <= 0:
        return EMPTY
    share = count / most
    return (
        round(LIGHT[0] + (DARK[0] - LIGHT[0]) * share),
        round(LIGHT[1] + (DARK[1] - LIGHT[1]) * share),
        round(LIGHT[2] + (DARK[2] - LIGHT[2]) * share),
    )


def render_png(counts: Grid, open_hours: Sequence[Sequence[bool]], *, title: str) -> bytes:
    """The heatmap as PNG bytes (WIDTH × HEIGHT)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font()
    draw.text((LEFT, 6), title, fill=INK, font=font)
    most = max((max(row) for row in counts), default=0)
    for hour in range(0, 24, 3):
        draw.text((LEFT + hour * CELL + 2, TOP - 16), f"{hour:02d}", fill=INK, font=font)
    for day in range(7):
        draw.text((6, TOP + day * CELL + 8), DAYS[day], fill=INK, font=font)
        for hour in range(24):
            _cell(
                draw,
                font,
                day=day,
                hour=hour,
                count=counts[day][hour],
                most=most,
                is_open=open_hours[day][hour],
            )
    legend_top = TOP + 7 * CELL + 10
    draw.rectangle((LEFT, legend_top, LEFT + 12, legend_top + 12), outline=OPEN, width=2)
    note = f"open hours · darker = more messages (busiest hour: {most})"
    draw.text((LEFT + 18, legend_top), note, fill=INK, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _cell(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    *,
    day: int,
    hour: int,
    count: int,
    most: int,
    is_open: bool,
) -> None:
    left, top, right, bottom = cell_box(day, hour)
    fill = shade(count, most)
    draw.rectangle((left, top, right, bottom), fill=fill, outline=BACKGROUND)
    if is_open:
        draw.rectangle((left, top, right, bottom), outline=OPEN, width=2)
    if count:
        ink = BACKGROUND if count * 2 > most else INK
        draw.text((left + 6, top + 8), str(count), fill=ink, font=font)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=11)
    except (TypeError, ValueError, OSError):  # no FreeType: the fixed bitmap font
        return ImageFont.load_default()
