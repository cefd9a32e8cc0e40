"""Optional LLM narrator: rewrites only an analysis' `reasoning` in the analyst's voice.

The deterministic analysis is always the answer. When an OpenAI-compatible endpoint is configured
(OPENAI_API_KEY, GROQ_API_KEY or LLM_BASE_URL), one chat-completions call rephrases `reasoning`
from the factors; score, signal, confidence, summary, factors and details are never touched.

Guards on the model's output (any failure -> the deterministic text, a warning, source
"deterministic"):

* it must be the JSON object `{"reasoning": "<non-empty text, at most 2,000 characters>"}`;
* **number rule**: every numeric token in the text (``1,234.5`` -> 1234.5; signs, ``%``, ``$``
  and ``x`` are ignored) must be an integer 0-10 (counts) or match, within half a unit of its
  last written digit, one of the input numbers: score, points, max_points and the year of
  inputs_as_of as they are; confidence and numeric factor values also x100 (percent) and
  /1e3, /1e6, /1e9, /1e12 (thousands .. trillions); numbers written in factor names,
  benchmarks, explanations, the summary and the deterministic reasoning also /1e3, /1e6, /1e9.
  So "18.8%" or "19%" may narrate 0.1875, "$1.5 billion" 1.523e9, but "32 times earnings" or
  "2019" must already be in the inputs;
* it must not name a signal (bullish/neutral/bearish) other than the analysis' own.

Results (successes for `cache_ttl`, failures as an empty marker for `failure_ttl`) are cached
under (llm model, analyst model, symbol, inputs_as_of, methodology_version, inputs hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from stockdash.analysis.schemas import Analysis, ModelName

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from stockdash.core.config import Settings

logger = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
GROQ_BASE_URL = "https://api.groq.com/openai/v1"
# The settings default names an OpenAI model that Groq does not serve.
GROQ_DEFAULT_MODEL = "llama-3.3-70b-versatile"
MAX_REASONING_CHARS = 2000
SMALL_INTEGER_MAX = 10
# Fractions may be quoted as percentages, big amounts in thousands .. trillions.
VALUE_SCALES = tuple(Decimal(s) for s in ("1", "100", "1e-3", "1e-6", "1e-9", "1e-12"))
TEXT_SCALES = tuple(Decimal(s) for s in ("1", "1e-3", "1e-6", "1e-9"))
EXACT = (Decimal(1),)
SIGNAL_WORDS = ("bullish", "neutral", "bearish")
CACHE_PREFIX = "narration:v1"
FAILURE_MARKER = ""
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)

NarrationSource = Literal["llm", "deterministic"]

VOICES: Mapping[ModelName, str] = MappingProxyType(
    {
        "basic": (
            "an impartial, even-handed equity analyst: clear, balanced, no hype, strengths and "
            "weaknesses weighed side by side"
        ),
        "warren_buffett": (
            "the plain-spoken voice of Warren Buffett's shareholder letters: a business "
            "owner's view of durable earnings, moats, sensible debt and a margin of safety, "
            "in homespun language"
        ),
        "peter_lynch": (
            "the voice of Peter Lynch: practical and upbeat, 'know what you own', growth at a "
            "reasonable price, PEG thinking, explained as to a curious everyday investor"
        ),
        "dcf_math": (
            "a careful valuation analyst: explicit about assumptions, discount rate, growth and "
            "terminal value, and how sensitive intrinsic value is to them"
        ),
    }
)


class NarrationCache(Protocol):
    """Async string cache the narrator stores narrations in."""

    async def get(self, key: str) -> str | None:
        """The cached value, or None."""
        ...

    async def set(self, key: str, value: str, ttl: int) -> None:
        """Store value for ttl seconds."""
        ...


@dataclass
class InMemoryNarrationCache:
    """Process-local NarrationCache with per-entry expiry (for tests and single processes)."""

    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, str]] = field(default_factory=dict, init=False, repr=False)

    async def get(self, key: str) -> str | None:
        """The value if present and not expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    async def set(self, key: str, value: str, ttl: int) -> None:
        """Store value until now + ttl."""
        self._entries[key] = (self.clock() + ttl, value)


@dataclass(frozen=True)
class Narration:
    """A narrated analysis and which reasoning text it carries."""

    analysis: Analysis
    source: NarrationSource


class NarrationError(Exception):
    """The LLM's answer was unusable."""


class _LLMReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reasoning: StrictStr = Field(min_length=1, max_length=MAX_REASONING_CHARS)


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: _Message


class _ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    choices: list[_Choice] = Field(min_length=1)


class Narrator:
    """Rewrites Analysis.reasoning through an OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        client: httpx.AsyncClient | None = None,
        cache: NarrationCache | None = None,
        timeout: float = 8.0,
        retry_delay: float = 0.5,
        cache_ttl: int = 7 * 24 * 3600,
        failure_ttl: int = 60,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("LLM base URL must be http(s)")
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key or None
        self.model = model
        # Which voice this is: cards and caches keyed by it never mix two narrators' texts.
        self.identity = f"{model}@{self._url}"
        self._client = client
        self._cache = cache
        self._timeout = timeout
        self._retry_delay = retry_delay
        self._cache_ttl = cache_ttl
        self._failure_ttl = failure_ttl

    def __repr__(self) -> str:
        return f"Narrator(url={self._url!r}, model={self.model!r})"

    async def narrate(self, symbol: str, analysis: Analysis) -> Analysis:
        """A copy of analysis with reasoning narrated, or the deterministic one on any failure."""
        return (await self.narrate_detailed(symbol, analysis)).analysis

    async def narrate_detailed(self, symbol: str, analysis: Analysis) -> Narration:
        """Like narrate, also telling whether the LLM or the deterministic text was used."""
        key = cache_key(self.model, symbol, analysis)
        cached = await self._cache_get(key)
        if cached is not None:
            return self._from_cache(cached, analysis)
        try:
            text = await self._generate(symbol, analysis)
        except Exception as exc:  # any failure must degrade to the deterministic text
            logger.warning(
                "LLM narration failed for %s/%s (model %s): %s",
                symbol,
                analysis.model,
                self.model,
                _describe(exc),
            )
            await self._cache_set(key, FAILURE_MARKER, self._failure_ttl)
            return Narration(analysis, "deterministic")
        await self._cache_set(key, text, self._cache_ttl)
        return Narration(analysis.model_copy(update={"reasoning": text}), "llm")

    def _from_cache(self, cached: str, analysis: Analysis) -> Narration:
        """Rebuild a narration from a cached text, re-checking it against the current inputs."""
        if cached == FAILURE_MARKER:
            return Narration(analysis, "deterministic")
        try:
            check_narration(cached, analysis)
        except NarrationError as exc:
            logger.warning("Discarding cached narration for %s: %s", analysis.model, exc)
            return Narration(analysis, "deterministic")
        return Narration(analysis.model_copy(update={"reasoning": cached}), "llm")

    async def _generate(self, symbol: str, analysis: Analysis) -> str:
        """Call the LLM and return a validated reasoning text."""
        body = build_request(self.model, symbol, analysis)
        response = await self._post(body)
        text = parse_reply(response)
        check_narration(text, analysis)
        return text

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with a total timeout per attempt and at most one retry on 429/5xx."""
        response = await self._attempt(body)
        if response.status_code in RETRYABLE_STATUS:
            await asyncio.sleep(self._retry_delay)
            response = await self._attempt(body)
        response.raise_for_status()
        return response

    async def _attempt(self, body: dict[str, Any]) -> httpx.Response:
        """One request, bounded by the timeout end to end (httpx's own timeouts are per phase)."""
        async with asyncio.timeout(self._timeout):
            if self._client is not None:
                return await self._send(self._client, body)
            async with httpx.AsyncClient() as client:
                return await self._send(client, body)

    async def _send(self, client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
        """Send the request; the key goes only to the configured URL, never via a redirect."""
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return await client.post(
            self._url,
            json=body,
            headers=headers,
            timeout=self._timeout,
            follow_redirects=False,
        )

    async def _cache_get(self, key: str) -> str | None:
        """Cache lookup; a broken cache only costs an LLM call."""
        if self._cache is None:
            return None
        try:
            return await self._cache.get(key)
        except Exception as exc:  # the cache is best-effort
            logger.warning("Narration cache get failed: %s", _describe(exc))
            return None

    async def _cache_set(self, key: str, value: str, ttl: int) -> None:
        """Cache store; failures are logged and ignored."""
        if self._cache is None or ttl <= 0:
            return
        try:
            await self._cache.set(key, value, ttl)
        except Exception as exc:  # the cache is best-effort
            logger.warning("Narration cache set failed: %s", _describe(exc))


def narrator_from_settings(
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    cache: NarrationCache | None = None,
) -> Narrator | None:
    """A Narrator for the configured endpoint, or None when no LLM is configured."""
    openai_key = _blank_to_none(settings.openai_api_key)
    groq_key = _blank_to_none(settings.groq_api_key)
    base_url = _blank_to_none(settings.llm_base_url)
    model = settings.llm_model
    if base_url is not None:
        api_key = openai_key or groq_key
    elif openai_key is not None:
        base_url, api_key = OPENAI_BASE_URL, openai_key
    elif groq_key is not None:
        base_url, api_key = GROQ_BASE_URL, groq_key
        if model == type(settings).model_fields["llm_model"].default:
            model = GROQ_DEFAULT_MODEL
    else:
        return None
    return Narrator(base_url=base_url, api_key=api_key, model=model, client=client, cache=cache)


def cache_key(llm_model: str, symbol: str, analysis: Analysis) -> str:
    """Cache key: LLM model, analyst, symbol, as-of date, methodology and a hash of the inputs."""
    return ":".join(
        (
            CACHE_PREFIX,
            llm_model,
            analysis.model,
            symbol.upper(),
            analysis.inputs_as_of.isoformat(),
            analysis.methodology_version,
            inputs_hash(analysis),
        )
    )


def inputs_hash(analysis: Analysis) -> str:
    """SHA-256 (first 32 hex) of the factors and the deterministic texts the narration rests on."""
    payload = {
        "factors": [f.model_dump(mode="json") for f in analysis.factors],
        "score": analysis.score,
        "confidence": analysis.confidence,
        "summary": analysis.summary,
        "reasoning": analysis.reasoning,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def build_request(llm_model: str, symbol: str, analysis: Analysis) -> dict[str, Any]:
    """The chat-completions request body."""
    return {
        "model": llm_model,
        "messages": [
            {"role": "system", "content": system_prompt(analysis.model)},
            {"role": "user", "content": json.dumps(prompt_payload(symbol, analysis))},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "max_tokens": 800,
    }


def system_prompt(model: ModelName) -> str:
    """Instructions for one analyst voice."""
    return (
        f"You rewrite a stock analysis' reasoning in the style of {VOICES[model]}. "
        "Write in that style; never claim to be that person. "
        "Use only the facts in the input. Do not change or restate the verdict differently: "
        "the score, signal and factors are final. Only quote numbers exactly as they appear in "
        "the input, and prefer words to numbers. No investment advice, no markdown. "
        f'Answer with a JSON object {{"reasoning": "..."}} of at most {MAX_REASONING_CHARS} '
        "characters and nothing else."
    )


def prompt_payload(symbol: str, analysis: Analysis) -> dict[str, Any]:
    """The facts the LLM may use."""
    return {
        "symbol": symbol.upper(),
        "analyst": analysis.model,
        "score": analysis.score,
        "signal": analysis.signal,
        "confidence": analysis.confidence,
        "inputs_as_of": analysis.inputs_as_of.isoformat(),
        "summary": analysis.summary,
        "factors": [f.model_dump(mode="json") for f in analysis.factors],
        "deterministic_reasoning": analysis.reasoning,
    }


def parse_reply(response: httpx.Response) -> str:
    """The validated `reasoning` string from a chat-completions response."""
    try:
        completion = _ChatCompletion.model_validate_json(response.content)
        content = completion.choices[0].message.content or ""
        reply = _LLMReply.model_validate_json(_strip_fence(content.strip()))
    except ValidationError as exc:
        raise NarrationError(f"invalid reply ({exc.error_count()} validation errors)") from exc
    return reply.reasoning.strip()


def check_narration(text: str, analysis: Analysis) -> None:
    """Raise NarrationError if text breaks the length, number or signal rule."""
    if not text.strip() or len(text) > MAX_REASONING_CHARS:
        raise NarrationError("empty or too long")
    invented = invented_numbers(text, analysis)
    if invented:
        raise NarrationError(f"numbers not in the inputs: {', '.join(invented[:5])}")
    other = [w for w in SIGNAL_WORDS if w != analysis.signal and re.search(rf"\b{w}\b", text, re.I)]
    if other:
        raise NarrationError(f"names another signal: {', '.join(other)}")


def invented_numbers(text: str, analysis: Analysis) -> list[str]:
    """Numeric tokens of text that match no number of the analysis (see the module docstring)."""
    allowed = set(source_numbers(analysis))
    return [token for token in _NUMBER.findall(text) if not _is_allowed(token, allowed)]


def source_numbers(analysis: Analysis) -> Iterator[Decimal]:
    """Every number the narration may legitimately quote, already scaled."""
    scores = () if analysis.score is None else (analysis.score,)
    yield from _scaled((*scores, analysis.inputs_as_of.year), EXACT)
    yield from _scaled((analysis.confidence,), VALUE_SCALES)
    yield from _scaled(_numbers_in((analysis.summary, analysis.reasoning)), TEXT_SCALES)
    for factor in analysis.factors:
        yield from _scaled((factor.points, factor.max_points), EXACT)
        if isinstance(factor.value, int | float):
            yield from _scaled((factor.value,), VALUE_SCALES)
        texts = (factor.name, factor.benchmark, factor.explanation, factor.value)
        yield from _scaled(_numbers_in(t for t in texts if isinstance(t, str)), TEXT_SCALES)


def _is_allowed(token: str, allowed: set[Decimal]) -> bool:
    """Whether the written token is a small integer or a rounded input number."""
    value = _to_decimal(token)
    if value is None:
        return False
    if value == value.to_integral_value() and value <= SMALL_INTEGER_MAX:
        return True
    exponent = value.as_tuple().exponent
    # Half a unit in the last written place, so "23.5" matches 23.46 and 23.54 either way round.
    tolerance = Decimal(5).scaleb((exponent if isinstance(exponent, int) else 0) - 1)
    return any(abs(source - value) <= tolerance for source in allowed)


def _scaled(
    values: Iterable[Decimal | float | int], scales: tuple[Decimal, ...]
) -> Iterator[Decimal]:
    """Absolute values times each scale (the sign is carried by words like 'decline')."""
    for value in values:
        number = abs(value if isinstance(value, Decimal) else Decimal(repr(value)))
        yield from (number * scale for scale in scales)


def _numbers_in(texts: Iterable[str]) -> Iterator[Decimal]:
    """Numbers written in texts."""
    for text in texts:
        for token in _NUMBER.findall(text):
            number = _to_decimal(token)
            if number is not None:
                yield number


def _to_decimal(token: str) -> Decimal | None:
    """Parse a token like '1,234.5'."""
    try:
        return Decimal(token.replace(",", ""))
    except InvalidOperation:
        return None


def _strip_fence(content: str) -> str:
    """Drop a ```json fence some OpenAI-compatible servers wrap around JSON mode output."""
    match = _FENCE.match(content)
    return match.group(1) if match else content


def _blank_to_none(value: str | None) -> str | None:
    """Treat unset and whitespace-only settings alike."""
    return value.strip() if value and value.strip() else None


def _describe(exc: BaseException) -> str:
    """A log-safe description: type and status, never headers or bodies."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, NarrationError):
        return str(exc)
    return type(exc).__name__
