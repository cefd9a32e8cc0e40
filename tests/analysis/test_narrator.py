"""The optional LLM narrator: only `reasoning` changes, and every failure falls back."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from stockdash.analysis.narrator import (
    GROQ_BASE_URL,
    GROQ_DEFAULT_MODEL,
    OPENAI_BASE_URL,
    InMemoryNarrationCache,
    Narrator,
    cache_key,
    invented_numbers,
    narrator_from_settings,
)
from stockdash.analysis.schemas import Analysis, Factor
from stockdash.core.config import Settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "llm" / "chat_completion_buffett.json"
BASE = "http://llm.test/v1"
URL = f"{BASE}/chat/completions"
KEY = "sk-test-secret-key-123"
MODEL = "gpt-4o-mini"
DETERMINISTIC = (
    "Warren Buffett scored 75.00/100 with confidence 0.80. Return on equity: ROE of 18.8% "
    "beats the 15% bar. (10.00/10 pts). Debt/equity: Debt is 0.2x equity. (5.00/10 pts)."
)


def make_analysis(**overrides: Any) -> Analysis:
    """A bullish Buffett analysis with two factors (score 75)."""
    fields: dict[str, Any] = {
        "model": "warren_buffett",
        "score": 75.0,
        "signal": "bullish",
        "confidence": 0.8,
        "summary": (
            "Warren Buffett is bullish on AAPL (75/100); strongest factor: Return on equity, "
            "weakest: Debt/equity."
        ),
        "reasoning": DETERMINISTIC,
        "factors": [
            Factor(
                name="Return on equity",
                value=0.1875,
                benchmark="full at >= 15%",
                points=10,
                max_points=10,
                explanation="ROE of 18.8% beats the 15% bar.",
            ),
            Factor(
                name="Debt/equity",
                value=0.2,
                benchmark="full at <= 0.5, 0 at >= 1.5",
                points=5,
                max_points=10,
                explanation="Debt is 0.2x equity.",
            ),
        ],
        "inputs_as_of": date(2025, 6, 30),
        "methodology_version": "buffett-1.0",
    }
    fields.update(overrides)
    return Analysis(**fields)


def completion(content: str | None = None) -> dict[str, Any]:
    """The fixture response, optionally with another message content."""
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    if content is not None:
        body = copy.deepcopy(body)
        body["choices"][0]["message"]["content"] = content
    return body


def fixture_reasoning() -> str:
    """The reasoning text inside the fixture's JSON content."""
    text: str = json.loads(completion()["choices"][0]["message"]["content"])["reasoning"]
    return text


def reply(reasoning: str) -> dict[str, Any]:
    """A completion whose content is {"reasoning": reasoning}."""
    return completion(json.dumps({"reasoning": reasoning}))


def narrator(**kwargs: Any) -> Narrator:
    """A Narrator against the fake base URL, no retry delay."""
    options: dict[str, Any] = {"base_url": BASE, "api_key": KEY, "model": MODEL}
    options["retry_delay"] = 0.0
    options.update(kwargs)
    return Narrator(**options)


def settings(**values: Any) -> Settings:
    """Settings with no LLM configured unless given, ignoring the environment and .env."""
    fields: dict[str, Any] = {"openai_api_key": None, "groq_api_key": None, "llm_base_url": None}
    fields.update(values)
    return Settings(_env_file=None, **fields)


@respx.mock
async def test_happy_path_replaces_only_reasoning() -> None:
    respx.post(URL).respond(200, json=completion())
    analysis = make_analysis()

    result = await narrator().narrate_detailed("AAPL", analysis)

    assert result.source == "llm"
    assert result.analysis.reasoning == fixture_reasoning()
    assert result.analysis.model_dump(exclude={"reasoning"}) == analysis.model_dump(
        exclude={"reasoning"}
    )
    assert analysis.reasoning == DETERMINISTIC


@respx.mock
async def test_request_carries_factors_model_json_mode_and_key() -> None:
    route = respx.post(URL).respond(200, json=completion())

    await narrator().narrate("aapl", make_analysis())

    request = route.calls.last.request
    body = json.loads(request.content)
    assert body["model"] == MODEL
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert "Warren Buffett" in system["content"] and "JSON" in system["content"]
    facts = json.loads(user["content"])
    assert facts["symbol"] == "AAPL"
    assert [f["name"] for f in facts["factors"]] == ["Return on equity", "Debt/equity"]
    assert facts["factors"][0]["value"] == 0.1875
    assert facts["score"] == 75.0 and facts["signal"] == "bullish"
    assert request.headers["Authorization"] == f"Bearer {KEY}"


@respx.mock
async def test_read_timeout_falls_back() -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    analysis = make_analysis()

    result = await narrator().narrate_detailed("AAPL", analysis)

    assert result.source == "deterministic"
    assert result.analysis == analysis
    assert route.call_count == 1


@respx.mock
async def test_total_timeout_bounds_a_slow_server() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=completion())

    respx.post(URL).mock(side_effect=slow)

    result = await narrator(timeout=0.05).narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"


@respx.mock
async def test_500_twice_falls_back_after_one_retry() -> None:
    route = respx.post(URL).respond(500, json={"error": {"message": "boom"}})

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"
    assert result.analysis.reasoning == DETERMINISTIC
    assert route.call_count == 2


@respx.mock
async def test_429_then_success_is_retried_once() -> None:
    route = respx.post(URL)
    route.side_effect = [httpx.Response(429), httpx.Response(200, json=completion())]

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert route.call_count == 2


@respx.mock
async def test_400_is_not_retried() -> None:
    route = respx.post(URL).respond(400, json={"error": {"message": "bad model"}})

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize(
    "content",
    [
        "This is not JSON at all.",
        '{"reasoning": ',
        '{"summary": "no reasoning key"}',
        '{"reasoning": ""}',
        '{"reasoning": 42}',
        json.dumps({"reasoning": "word " * 401}),
        "[]",
    ],
    ids=["prose", "truncated", "missing-key", "empty", "not-a-string", "too-long", "array"],
)
async def test_invalid_content_falls_back(content: str) -> None:
    respx.post(URL).respond(200, json=completion(content))

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"
    assert result.analysis.reasoning == DETERMINISTIC


@respx.mock
@pytest.mark.parametrize(
    "body",
    [{"choices": []}, {"object": "chat.completion"}, "<html>gateway</html>"],
    ids=["no-choices", "no-choices-key", "not-json"],
)
async def test_malformed_response_falls_back(body: Any) -> None:
    if isinstance(body, str):
        respx.post(URL).respond(200, text=body)
    else:
        respx.post(URL).respond(200, json=body)

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"


@respx.mock
async def test_invented_number_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    text = "A fine business earning 18.8% on equity, trading at 32 times earnings."
    respx.post(URL).respond(200, json=reply(text))

    with caplog.at_level(logging.WARNING, logger="stockdash.analysis.narrator"):
        result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"
    assert "32" in caplog.text
    assert KEY not in caplog.text


@respx.mock
async def test_other_signal_word_falls_back() -> None:
    respx.post(URL).respond(200, json=reply("Frankly I am bearish on this one."))

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"


@respx.mock
async def test_fenced_json_is_accepted() -> None:
    content = "```json\n" + json.dumps({"reasoning": "A sound business, bullish."}) + "\n```"
    respx.post(URL).respond(200, json=completion(content))

    result = await narrator().narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert result.analysis.reasoning == "A sound business, bullish."


@respx.mock
async def test_second_call_is_served_from_cache() -> None:
    route = respx.post(URL).respond(200, json=completion())
    cached = narrator(cache=InMemoryNarrationCache())

    first = await cached.narrate_detailed("AAPL", make_analysis())
    second = await cached.narrate_detailed("AAPL", make_analysis())

    assert route.call_count == 1
    assert first == second
    assert second.source == "llm"


@respx.mock
async def test_changed_inputs_miss_the_cache() -> None:
    route = respx.post(URL).respond(200, json=completion())
    cached = narrator(cache=InMemoryNarrationCache())

    await cached.narrate("AAPL", make_analysis())
    await cached.narrate("AAPL", make_analysis(confidence=0.5))
    await cached.narrate("MSFT", make_analysis())

    assert route.call_count == 3


@respx.mock
async def test_failures_are_cached_briefly() -> None:
    route = respx.post(URL).respond(503)
    now = [0.0]
    cache = InMemoryNarrationCache(clock=lambda: now[0])
    failing = narrator(cache=cache, failure_ttl=60)

    await failing.narrate("AAPL", make_analysis())
    second = await failing.narrate_detailed("AAPL", make_analysis())
    now[0] = 61.0
    await failing.narrate("AAPL", make_analysis())

    assert second.source == "deterministic"
    assert route.call_count == 4


async def test_poisoned_cache_entry_is_rechecked() -> None:
    cache = InMemoryNarrationCache()
    analysis = make_analysis()
    await cache.set(cache_key(MODEL, "AAPL", analysis), "It will reach 999 dollars.", 60)

    result = await narrator(cache=cache).narrate_detailed("AAPL", analysis)

    assert result.source == "deterministic"


def test_cache_key_covers_model_symbol_date_methodology_and_llm() -> None:
    analysis = make_analysis()
    key = cache_key(MODEL, "aapl", analysis)

    assert key.startswith(f"narration:v1:{MODEL}:warren_buffett:AAPL:2025-06-30:buffett-1.0:")
    assert cache_key("other-llm", "AAPL", analysis) != key
    assert cache_key(MODEL, "AAPL", make_analysis(methodology_version="2")) != key


def test_no_llm_configured_gives_no_narrator() -> None:
    assert narrator_from_settings(settings()) is None
    assert narrator_from_settings(settings(openai_api_key="  ", llm_base_url="")) is None


@respx.mock
async def test_openai_key_uses_openai_base_url() -> None:
    route = respx.post(f"{OPENAI_BASE_URL}/chat/completions").respond(200, json=completion())
    built = narrator_from_settings(settings(openai_api_key=KEY))
    assert built is not None

    result = await built.narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(route.calls.last.request.content)["model"] == "gpt-4o-mini"


@respx.mock
async def test_groq_key_uses_groq_base_url_and_model() -> None:
    route = respx.post(f"{GROQ_BASE_URL}/chat/completions").respond(200, json=completion())
    built = narrator_from_settings(settings(groq_api_key="gsk-test"))
    assert built is not None

    result = await built.narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert route.calls.last.request.headers["Authorization"] == "Bearer gsk-test"
    assert json.loads(route.calls.last.request.content)["model"] == GROQ_DEFAULT_MODEL


def test_groq_keeps_an_explicit_model() -> None:
    built = narrator_from_settings(settings(groq_api_key="gsk-test", llm_model="llama-3.1-8b"))

    assert built is not None and built.model == "llama-3.1-8b"


@respx.mock
async def test_base_url_without_key_sends_no_authorization() -> None:
    local = "http://127.0.0.1:11434/v1"
    route = respx.post(f"{local}/chat/completions").respond(200, json=completion())
    built = narrator_from_settings(settings(llm_base_url=local + "/", llm_model="llama3.1"))
    assert built is not None

    result = await built.narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert "Authorization" not in route.calls.last.request.headers
    assert json.loads(route.calls.last.request.content)["model"] == "llama3.1"


@respx.mock
async def test_base_url_wins_over_openai_default() -> None:
    route = respx.post(URL).respond(200, json=completion())
    built = narrator_from_settings(settings(openai_api_key=KEY, llm_base_url=BASE))
    assert built is not None

    await built.narrate("AAPL", make_analysis())

    assert route.call_count == 1


@respx.mock
async def test_redirects_are_not_followed() -> None:
    elsewhere = respx.post("https://elsewhere.test/steal").respond(200, json=completion())
    respx.post(URL).respond(307, headers={"Location": "https://elsewhere.test/steal"})
    async with httpx.AsyncClient(follow_redirects=True) as client:
        result = await narrator(client=client).narrate_detailed("AAPL", make_analysis())

    assert result.source == "deterministic"
    assert elsewhere.call_count == 0


@respx.mock
async def test_injected_client_is_used() -> None:
    route = respx.post(URL).respond(200, json=completion())
    async with httpx.AsyncClient() as client:
        result = await narrator(client=client).narrate_detailed("AAPL", make_analysis())

    assert result.source == "llm"
    assert route.call_count == 1


def test_key_is_not_in_repr() -> None:
    assert KEY not in repr(narrator())


def test_non_http_base_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="http"):
        narrator(base_url="file:///etc")


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("ROE of 18.8%, 18.75% precisely, roughly 19%.", []),
        ("Debt is 0.2 times equity, i.e. 20% of it.", []),
        ("Scored 75 out of 100 with confidence 0.8 as of 2025.", []),
        ("Three of 5 factors, 1 to 10 scale.", []),
        ("It trades at 32 times earnings.", ["32"]),
        ("The year 2019 was weak.", ["2019"]),
        ("A 18.9% return.", ["18.9"]),
        ("Revenue of 1,500.", ["1,500"]),
    ],
)
def test_number_rule(text: str, invented: list[str]) -> None:
    assert invented_numbers(text, make_analysis()) == invented


def test_number_rule_scales_to_millions_and_billions() -> None:
    revenue = Factor(
        name="Revenue",
        value=1_523_000_000.0,
        benchmark=None,
        points=0,
        max_points=0,
        explanation="Latest revenue.",
    )
    analysis = make_analysis(factors=[*make_analysis().factors, revenue])

    assert invented_numbers("Revenue of $1.5 billion or 1,523 million.", analysis) == []
    assert invented_numbers("Revenue of $1.6 billion.", analysis) == ["1.6"]


async def test_in_memory_cache_expires() -> None:
    now = [0.0]
    cache = InMemoryNarrationCache(clock=lambda: now[0])
    await cache.set("k", "v", 10)

    assert await cache.get("k") == "v"
    now[0] = 10.0
    assert await cache.get("k") is None
