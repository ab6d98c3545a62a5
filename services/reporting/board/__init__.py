"""The season board: a read-only page of a season on reporting's HTTP port (`/board`).

Coverage by level down the dated tree (province → commune → hamlet), the units still missing with the
reason, the festival calendar (registry's `festivals` query, over the bus), awards and gifts totals
and the year before. Server-rendered (Jinja2), one small script for the live figures: an EventSource
on `/board/live`, fed by reporting's own `coverage.updated` topic. Nothing is loaded from elsewhere
(the Content-Security-Policy says `self` only).

Every figure comes from reporting's queries, asked in-process through the same `QueryProcessor` as on
the bus: the same token checks and the same read scopes. In production the page needs a token (sent as
`Authorization: Bearer`, or pasted once at `/board/login` and kept in an HttpOnly cookie); in
development it is open."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2

from services.reporting.board import strings
from services.reporting.board.live import Topic, totals
from shared.contract import reporting as c
from shared.contract.errors import DomainError
from shared.runtime.auth import Presented
from shared.runtime.web import Request, Response, WebApp, WebContext

log = logging.getLogger("antq.reporting.board")

HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "antq_board_token"
TOKEN_HOURS = 12
STATIC = {"board.css": "text/css; charset=utf-8", "board.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATUS = {"forbidden": 403, "not_found": 404, "unavailable": 503, "internal": 500}
UNIT_PATH = re.compile(r"^/board/u/([^/]{1,128})$")
FIRST_YEAR = 2005  # the first All-People's Festival for Protecting National Security
MISSING_SHOWN = 100
MISSING_ALL = 5000
CALENDAR_SHOWN = 1000
HEARTBEAT_SECONDS = 15.0
RECHECK_SECONDS = 60.0  # a stream re-checks its token this often: an expired token ends it


def language(asked: str | None, default: str = "vi") -> str:
    return asked if asked is not None and asked in strings.LANGS else default


def presented(request: Request) -> Presented | None:
    """The token a browser presents: an `Authorization` header, else the board's cookie."""
    if request.headers.get("authorization"):
        return Presented({"authorization": request.headers["authorization"]})
    token = request.cookie(TOKEN_COOKIE)
    return Presented({"authorization": f"Bearer {token}"}) if token else None


class Board:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.topic = Topic(ctx)
        self.files = {name: (HERE / "static" / name).read_bytes() for name in STATIC}  # read once
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # ------------------------------------------------------------------------------ routing

    async def __call__(self, request: Request) -> Response | None:
        path = request.path.rstrip("/") or "/"
        if path != "/board" and not path.startswith("/board/"):
            return None
        lang = language(request.query.get("lang"))
        try:
            if path.startswith("/board/static/"):
                return self.static(path.removeprefix("/board/static/"))
            if path == "/board/login":
                if request.method == "POST":
                    return await self.login(request, lang)
                if request.method != "GET":
                    return Response(405, b"GET or POST\n", "text/plain")
                return self.login_form(lang)
            if request.method != "GET":
                return Response(405, b"GET only\n", "text/plain")
            if path == "/board/logout":
                return Response.redirect(self.link("/board/login", lang), **{"Set-Cookie": self.cookie("", 0)})
            year = self.year(request)
            if year is None:
                return self.error(lang, 400, strings.WORDS[lang]["bad_year"])
            if path == "/board":
                return await self.index(request, lang, year)
            if path == "/board/live":
                return await self.live(request, year)
            if m := UNIT_PATH.match(path):
                return await self.unit(request, lang, year, m.group(1))
            return self.error(lang, 404, path)
        except DomainError as exc:  # a token refused: sign in again
            return self.login_form(lang, exc.message, 401, clear=True)

    def year(self, request: Request) -> int | None:
        """The year asked, as the queries take it (2005, the first festival, to 2100); None otherwise."""
        raw = request.query.get("year") or str(self.ctx.today.year)
        ok = raw.isascii() and raw.isdigit() and len(raw) == 4 and FIRST_YEAR <= int(raw) <= 2100
        return int(raw) if ok else None

    @staticmethod
    def link(path: str, lang: str, **params: Any) -> str:
        query = {k: v for k, v in {**params, "lang": None if lang == "vi" else lang}.items() if v not in (None, "")}
        return urllib.parse.quote(path) + (("?" + urllib.parse.urlencode(query)) if query else "")

    def render(self, name: str, lang: str, status: int = 200, **values: Any) -> Response:
        page = self.env.get_template(name).render(
            w=strings.words(lang),
            lang=lang,
            link=lambda path, **p: self.link(path, lang, **p),
            other=lambda path, **p: self.link(path, "en" if lang == "vi" else "vi", **p),
            num=lambda v: strings.number(v, lang),
            millions=lambda v: strings.millions(v, lang),
            pct=lambda v: strings.percent(v, lang),
            day=lambda v: strings.day(v, lang),
            **values,
        )
        return Response(status, page.encode(), headers=dict(HEADERS))

    def error(self, lang: str, status: int, message: str) -> Response:
        return self.render("error.html", lang, status, message=message, detail=None)

    def static(self, name: str) -> Response:
        if name not in STATIC:
            return Response(404, b"not found\n", "text/plain")
        headers = {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}
        return Response(200, self.files[name], STATIC[name], headers)

    def cookie(self, token: str, max_age: int) -> str:
        return f"{TOKEN_COOKIE}={token}; Path=/board; HttpOnly; SameSite=Strict; Max-Age={max_age}"

    # ------------------------------------------------------------------------------ sign-in

    def login_form(self, lang: str, message: str | None = None, status: int = 200, clear: bool = False) -> Response:
        response = self.render("login.html", lang, status, message=message, required=self.ctx.token_required)
        if clear:
            response.headers["Set-Cookie"] = self.cookie("", 0)
        return response

    async def login(self, request: Request, lang: str) -> Response:
        form = request.form()
        lang = language(form.get("lang"), lang)
        token = "".join(form.get("token", "").split())
        if not token or len(token) > 16_384 or not token.isascii():
            return self.login_form(lang, strings.WORDS[lang]["login_help"], 400)
        try:
            self.ctx.actor(Presented({"authorization": f"Bearer {token}"}))
        except DomainError as exc:
            return self.login_form(lang, exc.message, 401)
        cookie = self.cookie(token, TOKEN_HOURS * 3600)
        return Response.redirect(self.link("/board", lang), **{"Set-Cookie": cookie})

    def who(self, request: Request, lang: str) -> tuple[Presented | None, Response | None]:
        token = presented(request)
        if token is None and self.ctx.token_required:
            return None, Response.redirect(self.link("/board/login", lang))
        self.ctx.actor(token)  # a bad token raises: the sign-in page says why
        return token, None

    # ------------------------------------------------------------------------------ pages

    async def index(self, request: Request, lang: str, year: int) -> Response:
        token, redirect = self.who(request, lang)
        if redirect is not None:
            return redirect
        actor = self.ctx.actor(token)
        if actor.unit:  # an officer starts at their own unit
            return Response.redirect(self.link(f"/board/u/{actor.unit}", lang, year=year))
        answer = await self.ctx.ask("seasons", {"year": year}, token)
        if not answer["ok"]:
            return self.failed(lang, answer)
        result = answer["result"]
        today = self.ctx.today.isoformat()
        return self.render("index.html", lang, year=year, seasons=result["seasons"], roots=result["roots"], today=today)

    def failed(self, lang: str, answer: dict[str, Any]) -> Response:
        """A refused query: what it means in the page's language, then the service's own words."""
        error = answer["error"]
        words = strings.WORDS[lang]
        fields = [d.get("field", "").removeprefix("data.") for d in error.get("details") or [] if isinstance(d, dict)]
        said = words.get(f"error_{error['code']}", words["error"])
        if error["code"] == "validation_failed" and any(fields):
            said = f"{said} ({', '.join(f for f in fields if f)})"
        return self.render("error.html", lang, STATUS.get(error["code"], 400), message=said, detail=error["message"])

    async def unit(self, request: Request, lang: str, year: int, unit_id: str) -> Response:
        token, redirect = self.who(request, lang)
        if redirect is not None:
            return redirect
        tree_date = request.query.get("day") or None
        base: dict[str, Any] = {"year": year, "scope_unit_id": unit_id}
        if tree_date:
            base["tree_date"] = tree_date
        coverage = await self.ctx.ask("coverage", {**base, "year_on_year": True}, token)
        if not coverage["ok"]:
            return self.failed(lang, coverage)
        figures = coverage["result"]
        base["tree_date"] = figures["tree_date"]
        missing, awards, gifts, calendar = await asyncio.gather(
            self.ctx.ask(
                "units-missing", {**base, "limit": MISSING_ALL if request.query.get("all") else MISSING_SHOWN}, token
            ),
            self.ctx.ask("awards-summary", base, token),
            self.ctx.ask("gifts-summary", base, token),
            self.calendar(unit_id, year, token),
        )
        before = figures.get("previous_year")  # a year with nothing planned or held shows as no data, not 0 %
        part = request.query.get("part")
        template = {"missing": "missing.html", "calendar": "calendar.html"}.get(part or "", "unit.html")
        live = self.link("/board/live", "vi", year=year, unit=unit_id, day=tree_date)
        return self.render(
            template,
            lang,
            year=year,
            unit_id=unit_id,
            day_param=tree_date,
            all_missing=bool(request.query.get("all")),
            season_day=figures["tree_date"],
            f=figures,
            before=before if before and (before["units_planned"] or before["units_held"]) else None,
            missing=missing.get("result") if missing["ok"] else None,
            missing_error=None if missing["ok"] else missing["error"],
            awards=totals(awards["result"]) if awards["ok"] else None,
            gifts=gifts.get("result") if gifts["ok"] else None,
            calendar=calendar,
            live=live,
        )

    async def calendar(self, unit_id: str, year: int, token: Presented | None) -> dict[str, Any] | None:
        """The scope's festivals of the year, from registry's `festivals` query over the bus (the
        presented token goes with it: registry applies its own read scope). None: registry did not
        answer."""
        params = {
            "scope_unit_id": unit_id,
            "from_date": f"{year}-01-01",
            "to_date": f"{year}-12-31",
            "limit": CALENDAR_SHOWN,
        }
        headers = dict(token.headers or {}) if token else {}
        try:
            msg = await self.ctx.connection().request(
                "antq.query.registry.festivals", json.dumps(params).encode(), timeout=5, headers=headers or None
            )
            answer: dict[str, Any] = json.loads(msg.data)
        except Exception:  # registry down or slow: the board says so, the rest still shows
            log.warning("the board could not read registry's calendar", extra={"scope": unit_id}, exc_info=True)
            return None
        return answer

    # ------------------------------------------------------------------------------ live figures

    async def live(self, request: Request, year: int) -> Response:
        token = presented(request)
        if token is None and self.ctx.token_required:
            return Response(401, b"sign in at /board/login\n", "text/plain")
        unit_id = request.query.get("unit", "")
        params: dict[str, Any] = {"year": year, "scope_unit_id": unit_id}
        if request.query.get("day"):
            params["tree_date"] = request.query["day"]
        # listening first, then reading: a change between the page and its stream is not lost
        queue = await self.topic.join()
        answer = await self.ctx.ask("coverage", params, token)  # the same read rules as the page
        if not answer["ok"]:
            self.topic.leave(queue)
            error = answer["error"]
            return Response(STATUS.get(error["code"], 400), (error["message"] + "\n").encode(), "text/plain")
        result = answer["result"]
        rows = result.get("breakdown", [])
        units = {unit_id, *(row["unit_id"] for row in rows)}
        now = [(unit_id, result), *((row["unit_id"], row) for row in rows)]  # the figures as the stream opens
        return Response(
            200,
            content_type="text/event-stream; charset=utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
            stream=self.events(queue, token, year, result["tree_date"], units, now, unit_id),
        )

    async def events(
        self,
        queue: asyncio.Queue[dict[str, Any] | None],
        token: Presented | None,
        year: int,
        tree_date: str,
        units: set[str],
        now: list[tuple[str, dict[str, Any]]],
        scope: str,
    ) -> AsyncIterator[bytes]:
        """`ready`, the figures as the stream opens, then each change of the page's scope or of a unit
        below it. The topic carries each scope's figures on its season's tree: a page on another tree
        date (a `day` asked, or a page left open past midnight) has its figures read again on its own
        date when the topic says they moved."""
        loop = asyncio.get_running_loop()
        checked = loop.time()

        def coverage_events(pairs: list[tuple[str, dict[str, Any]]]) -> bytes:
            out = []
            for unit, figures in pairs:
                shown = {k: figures[k] for k in c.Figures.model_fields if k in figures}
                out.append(f"event: coverage\ndata: {json.dumps({'unit_id': unit, 'figures': shown})}\n\n")
            return "".join(out).encode()

        try:
            yield b"retry: 3000\nevent: ready\ndata: {}\n\n" + coverage_events(now)
            while not self.ctx.stopping.is_set():
                try:
                    data = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    data = {}
                if data is None:
                    return  # too slow: the browser reconnects and reloads
                if loop.time() - checked > RECHECK_SECONDS:
                    checked = loop.time()
                    try:
                        self.ctx.actor(token)
                    except DomainError:
                        yield b"event: expired\ndata: {}\n\n"
                        return
                mine = data.get("year") == year and data.get("scope_unit_id") in units
                if mine and data.get("tree_date") == tree_date:
                    yield coverage_events([(data["scope_unit_id"], data["figures"])])
                elif mine:  # moved on the season's tree: read this page's tree date again (once per burst)
                    while not queue.empty():
                        more = queue.get_nowait()
                        if more is None:
                            return
                        same = more.get("year") == year and more.get("tree_date") == tree_date
                        if same and more.get("scope_unit_id") in units:
                            yield coverage_events([(more["scope_unit_id"], more["figures"])])
                    params = {"year": year, "scope_unit_id": scope, "tree_date": tree_date}
                    answer = await self.ctx.ask("coverage", params, token)
                    if answer["ok"]:
                        result = answer["result"]
                        rows = [(r["unit_id"], r) for r in result.get("breakdown", [])]
                        yield coverage_events([(scope, result), *rows])
        finally:
            self.topic.leave(queue)


def app(ctx: WebContext) -> WebApp:
    return Board(ctx)
