"""API baselines (few-shot, one-shot, prompt-tuned, agent) against a real local HTTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from alloypref.baselines import prompts
from alloypref.baselines.agent import calphad_judge, parse_verdict
from alloypref.baselines.api_client import ChatClient, RequestLog, RequestLogError
from alloypref.baselines.api_config import ApiConfigError, ApiSettings
from alloypref.baselines.api_cost import request_budget
from alloypref.baselines.api_run import run_api_baseline
from alloypref.completion.parsing import SAMPLES_SCHEMA
from tests.openai_server import JUDGE_MARKER, ChatServer

from .helpers import exemplar_rows

REPO = Path(__file__).resolve().parents[1]
ELEMENTS = ["Al", "Mo", "Nb", "Ni"]
SECRET = "sk-test-secret-never-written-0123456789"


@pytest.fixture()
def server():
    with ChatServer(ELEMENTS) as running:
        yield running


@pytest.fixture()
def api_key(monkeypatch):
    monkeypatch.setenv("ALLOYPREF_TEST_KEY", SECRET)
    return "ALLOYPREF_TEST_KEY"


@pytest.fixture(scope="module")
def exemplar_rewards() -> pd.DataFrame:
    """30 parsed SFT samples with rewards -0..-29 (candidate i has reward -i) and 3 unparsed ones."""
    rows = exemplar_rows(30)
    rows += [
        {
            "candidate_id": f"m-sft-9{i:04d}",
            "bcc": "",
            "b2": "",
            "b2_volume_percent": float("nan"),
            "reward": -1121.0,
            "status": "invalid",
        }
        for i in range(3)
    ]
    return pd.DataFrame(rows)


def settings(server: ChatServer, method: str = "few_shot", name: str | None = None, **extra) -> ApiSettings:
    entry = {"base_url": server.base_url, "model": "test-model", "method": method, "n": 8, "concurrency": 2, **extra}
    return ApiSettings.from_config(name or method.replace("_", ""), entry)


# ----------------------------------------------------------------------------- prompts and config


def test_few_shot_exemplars_are_the_top_and_bottom_parsed_samples(exemplar_rewards):
    good, bad = prompts.few_shot_exemplars(exemplar_rewards, 10, 10)
    assert list(good["reward"]) == [-float(i) for i in range(10)]
    assert list(bad["reward"]) == [-float(i) for i in range(29, 19, -1)]  # unparsed rows never exemplars
    prompt = prompts.few_shot_prompt(ELEMENTS, good, bad)
    assert "Restriction 2: All the compositions should be limited to the following elements: Al, Mo, Nb, Ni" in prompt
    good_part, bad_part = prompt.split("Examples of bad generations:")
    assert "<BCC>Nb50Mo50</BCC>\n<B2>NiAl</B2>\n<B2 Volume>20.00</B2 Volume>" in good_part
    assert "<BCC>Nb79Mo21</BCC>" in bad_part and "<BCC>Nb79Mo21</BCC>" not in good_part
    assert "Known BCC" not in prompt
    assert prompt.endswith("<B2 Volume>40.00</B2 Volume>")


def test_one_shot_prompt_has_one_seeded_exemplar_and_optional_known_lists(exemplar_rewards):
    first = prompts.one_shot_exemplar(exemplar_rewards, seed=3)
    assert first["status"] == "ok"
    assert prompts.one_shot_exemplar(exemplar_rewards, seed=3)["candidate_id"] == first["candidate_id"]
    prompt = prompts.one_shot_prompt(ELEMENTS, first, known=(["Nb", "MoNb"], ["NiAl"]))
    assert prompt.count("<BCC>") == 1 and "Example generation:" in prompt
    assert prompt.endswith("Known BCC: Nb, MoNb\nKnown B2: NiAl")


def test_uuid_suffix_is_seeded_and_distinct():
    assert prompts.uuid_suffix(0, 5) == prompts.uuid_suffix(0, 5)
    assert len({prompts.uuid_suffix(0, i) for i in range(100)}) == 100
    assert prompts.uuid_suffix(1, 5) != prompts.uuid_suffix(0, 5)


def test_config_errors_name_the_key(monkeypatch):
    with pytest.raises(ApiConfigError, match=r"baselines.api.x.method"):
        ApiSettings.from_config("x", {"base_url": "u", "model": "m", "method": "zero_shot", "n": 1})
    with pytest.raises(ApiConfigError, match=r"baselines.api.x.model is required"):
        ApiSettings.from_config("x", {"base_url": "u", "method": "few_shot", "n": 1})
    with pytest.raises(ApiConfigError, match="must end in 'calphad_judge'"):
        ApiSettings.from_config(
            "agent_llm_judge", {"base_url": "u", "model": "m", "method": "agent_calphad_judge", "n": 1}
        )
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    unset = ApiSettings.from_config(
        "x", {"base_url": "u", "model": "m", "method": "few_shot", "n": 1, "api_key_env": "NO_SUCH_KEY_VAR"}
    )
    with pytest.raises(ApiConfigError, match="NO_SUCH_KEY_VAR is not set"):
        unset.api_key()


def test_llm_verdicts_parse():
    assert parse_verdict("Valid") == (True, "")
    assert parse_verdict("**Valid.**") == (True, "")
    assert parse_verdict("Invalid: Nb is not a B2 former") == (False, "Nb is not a B2 former")
    accepted, reason = parse_verdict("Looks fine to me")
    assert not accepted and "neither Valid nor Invalid" in reason


# ----------------------------------------------------------------------------- through the server


def test_few_shot_survives_faults_and_parses_every_answer(server, exemplar_rewards, api_key, tmp_path):
    server.faults.extend(["429", "500", "malformed", "truncated"])
    s = settings(server, api_key_env=api_key, max_retries=3)
    samples, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert list(samples.columns) == SAMPLES_SCHEMA.names
    assert len(samples) == 8
    # the truncated answer is kept and gets the samples' status; the rest parse
    assert samples["status"].value_counts().to_dict() == {"ok": 7, "unparseable": 1}
    cut = samples.loc[samples["status"] == "unparseable", "text"].iloc[0]
    assert "<B2>" in cut and "</B2>" not in cut
    # 8 answers + the 429, the 500 and the malformed 200, each retried once
    assert len(server.received) == 11 and len(server.answered) == 8
    assert report["requests_sent"] == 8 and report["requests_from_log"] == 0
    # the key never reaches the log or the report
    assert SECRET not in (tmp_path / "log.jsonl").read_text()
    assert SECRET not in json.dumps(report)
    assert len(RequestLog(tmp_path / "log.jsonl")) == 8


def test_distinct_samples_of_one_prompt_are_distinct_requests(server, exemplar_rewards, tmp_path):
    samples, _ = run_api_baseline(settings(server), exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert len(set(server.received)) == 8  # per-sample seeds tell the requests apart
    assert samples["text"].nunique() > 1


def test_a_finished_run_is_never_billed_again(server, exemplar_rewards, tmp_path):
    s = settings(server)
    first, _ = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    sent = len(server.received)
    again, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert len(server.received) == sent
    assert report["requests_sent"] == 0 and report["requests_from_log"] == 8
    pd.testing.assert_frame_equal(first, again)
    # a different sample count reuses the 8 answers and asks only for the 4 new ones
    _, more = run_api_baseline(settings(server, n=12), exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert (more["requests_sent"], more["requests_from_log"]) == (4, 8)
    assert len(server.received) == sent + 4


_RUN = """
import json, sys
import pandas as pd
from alloypref.baselines.api_config import ApiSettings
from alloypref.baselines.api_run import run_api_baseline
settings = ApiSettings.from_config("fewshot", json.loads(sys.argv[1]))
run_api_baseline(settings, pd.read_parquet(sys.argv[2]), ["Al", "Mo", "Nb", "Ni"], sys.argv[3], seed=0)
"""


def test_killed_run_resumes_without_sending_an_answered_request_again(exemplar_rewards, tmp_path):
    n = 20
    rewards_path = tmp_path / "rewards.parquet"
    exemplar_rewards.to_parquet(rewards_path)
    log_path = tmp_path / "log.jsonl"
    with ChatServer(ELEMENTS, delay_s=0.1) as server:
        entry = {"base_url": server.base_url, "model": "test-model", "method": "few_shot", "n": n, "concurrency": 2}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
        child = subprocess.Popen(
            [sys.executable, "-c", _RUN, json.dumps(entry), str(rewards_path), str(log_path)], env=env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if log_path.is_file() and log_path.read_text().count("\n") >= 6:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the run finished (or failed) before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        time.sleep(0.3)  # let requests already on the wire arrive
        logged = {ChatServer.key_of(e["request"]) for e in RequestLog(log_path)._entries.values()}
        assert 6 <= len(logged) < n
        before = len(server.received)
        samples, report = run_api_baseline(
            ApiSettings.from_config("fewshot", entry), exemplar_rewards, ELEMENTS, log_path, seed=0
        )
        after = server.received[before:]
    assert not set(after) & logged  # nothing answered before the kill is asked again
    assert len(after) == len(set(after)) == n - len(logged)
    assert report["requests_from_log"] == len(logged) and report["requests_sent"] == n - len(logged)
    assert len(samples) == n and len(RequestLog(log_path)) == n


def test_request_log_ignores_a_cut_short_last_line_and_rejects_a_bad_middle_line(tmp_path):
    good = json.dumps({"key": "a", "request": {}, "response": {"text": "x"}, "seconds": 0.1})
    path = tmp_path / "log.jsonl"
    path.write_text(good + "\n" + '{"key": "b", "requ')
    assert len(RequestLog(path)) == 1
    assert path.read_text() == good + "\n"  # the fragment is dropped, so the next append starts a clean line
    path.write_text('{"key": "b", "requ\n' + good + "\n")
    with pytest.raises(RequestLogError, match="log.jsonl, line 1"):
        RequestLog(path)


def test_one_shot_and_uuid_prompts_through_the_server(server, exemplar_rewards, tmp_path):
    samples, _ = run_api_baseline(
        settings(server, "one_shot"), exemplar_rewards, ELEMENTS, tmp_path / "one.jsonl", seed=0
    )
    assert samples["prompt"].nunique() == 1 and samples["prompt"].iloc[0].count("<BCC>") == 1
    assert set(samples["stage"]) == {"one_shot"} and samples["candidate_id"].iloc[0] == "oneshot-one_shot-00000"
    tagged, _ = run_api_baseline(
        settings(server, uuid_suffix=True), exemplar_rewards, ELEMENTS, tmp_path / "uuid.jsonl", seed=0
    )
    assert tagged["prompt"].nunique() == 8
    assert tagged["prompt"].iloc[3].endswith(prompts.uuid_suffix(0, 3))


def test_agent_with_llm_judge_regenerates_with_feedback_and_restarts_after_five(exemplar_rewards, tmp_path):
    with ChatServer(ELEMENTS, valid_fraction=0.0) as server:  # the judge rejects everything
        s = settings(server, "agent_llm_judge", name="agent_llm_judge", n=3, max_loops=2)
        samples, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
        bodies = list(server.bodies)
    assert len(samples) == 0
    assert (report["loops"], report["scrapped"]) == (2, 2)
    assert report["generator_calls"] == 10 and report["judge_llm_calls"] == 10 and report["calphad_calls"] == 0
    assert report["llm_calls"] == len(bodies) == 20 == request_budget(s)["llm_max"]
    judged = [b for b in bodies if JUDGE_MARKER in b["messages"][0]["content"]]
    assert len(judged) == 10 and all(b["temperature"] == 0.0 for b in judged)
    generations = sorted((b for b in bodies if b not in judged), key=lambda b: len(b["messages"]))
    # the fifth generation of a loop has seen four rejections, each with the judge's reason
    assert [len(b["messages"]) for b in generations] == [1, 1, 3, 3, 5, 5, 7, 7, 9, 9]
    assert generations[-1]["messages"][-1]["content"].startswith(
        "The evaluator judged this generation invalid: the B2 volume is implausible."
    )


def test_agent_with_llm_judge_collects_n_accepted_triples(exemplar_rewards, tmp_path):
    with ChatServer(ELEMENTS, valid_fraction=0.5) as server:
        s = settings(server, "agent_llm_judge", name="agent_llm_judge", n=4)
        samples, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
        answered = len(server.answered)
        # a rerun replays every loop, feedback included, from the request log
        again, replay = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
        assert len(server.received) == answered and replay["requests_sent"] == 0
        pd.testing.assert_frame_equal(samples, again)
    assert len(samples) == 4 and set(samples["status"]) == {"ok"}
    assert report["llm_calls"] == answered == report["requests_sent"]
    assert report["generator_calls"] == report["judge_llm_calls"]  # every generation parsed, so each was judged
    assert report["accepted"] == 4


def test_agent_whose_judge_accepts_everything_costs_the_minimum(exemplar_rewards, tmp_path):
    with ChatServer(ELEMENTS, valid_fraction=1.0) as server:
        s = settings(server, "agent_llm_judge", name="agent_llm_judge", n=3, concurrency=1)
        samples, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
        sent = len(server.received)
    assert len(samples) == 3 and report["loops"] == 3
    assert report["llm_calls"] == sent == request_budget(s)["llm_min"] == 6


def test_request_budget_of_one_shot_methods_is_n():
    s = ApiSettings.from_config("x", {"base_url": "u", "model": "m", "method": "few_shot", "n": 1000})
    assert request_budget(s)["llm_max"] == 1000
    agent = ApiSettings.from_config(
        "a_calphad_judge", {"base_url": "u", "model": "m", "method": "agent_calphad_judge", "n": 10}
    )
    assert request_budget(agent, 0.25) == {
        "llm_min": 10,
        "llm_expected": 40,
        "llm_max": 1000,
        "calphad_min": 10,
        "calphad_expected": 40,
        "calphad_max": 1000,
    }


def _reward_row(ok: bool) -> dict:
    return {"status": "ok", "reason": "", "bcc_b2_exist": True, "bcc_forms_first": ok, "b2_room_temp": True}


def test_calphad_judge_feedback_names_the_failed_rules():
    judge = calphad_judge(lambda bcc, b2, volume: _reward_row(False))
    accepted, feedback = judge("text", {"bcc": "NbMo", "b2": "NiAl", "b2_volume_percent": 30.0}, "loop0/gen0")
    assert not accepted and feedback == "the BCC does not form before the B2 on cooling"
    assert calphad_judge(lambda *a: _reward_row(True))(
        "t", {"bcc": "Nb", "b2": "NiAl", "b2_volume_percent": 1.0}, "k"
    ) == (True, "")


def test_agent_with_calphad_judge_counts_calphad_calls(server, exemplar_rewards, tmp_path, reference_backend):
    from alloypref.scoring import ScoringSettings, score_one

    options = ScoringSettings(temperatures_K=(373.15, 1273.15))
    scored = []

    def score(bcc, b2, volume):
        scored.append((bcc, b2, volume))
        return score_one(bcc, b2, volume, reference_backend, options)[0]

    nial = ChatServer(["Al", "Ni"])
    with nial:
        s = settings(nial, "agent_calphad_judge", name="agent_calphad_judge", n=1, max_loops=1, concurrency=1)
        samples, report = run_api_baseline(
            s, exemplar_rewards, ["Al", "Ni"], tmp_path / "log.jsonl", seed=0, score=score
        )
        sent = len(nial.received)
    assert report["calphad_calls"] == len(scored) == report["generator_calls"] == sent
    assert report["judge_llm_calls"] == 0
    assert len(samples) == report["accepted"] == (1 if report["scrapped"] == 0 else 0)


def test_prompt_tuning_without_dspy_says_how_to_install(server, exemplar_rewards, tmp_path):
    try:
        import dspy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("DSPy is installed; the message for its absence cannot be seen")
    with pytest.raises(RuntimeError, match=r"needs DSPy.*pip install 'alloypref\[dspy\]'"):
        run_api_baseline(settings(server, "prompt_tuned"), exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert server.received == []


def test_prompt_tuning_with_dspy_through_the_server(server, exemplar_rewards, tmp_path):
    dspy = pytest.importorskip("dspy", reason="DSPy (optional extra 'dspy') is not installed")
    pytest.importorskip("optuna", reason="MIPROv2 needs optuna (in the extra 'dspy')")
    # DSPy's own answer cache ignores the endpoint; off, so the tuning requests reach this server
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    s = settings(server, "prompt_tuned", tuning_trials=2)
    samples, report = run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert len(samples) == 8 and samples["prompt"].nunique() == 8  # one UUID per request
    assert samples["prompt"].iloc[0].endswith(prompts.uuid_suffix(0, 0))
    assert report["requests_sent"] == 8
    assert len(server.received) > 8  # MIPROv2's own requests reached the endpoint too
    tuned = list(tmp_path.glob("prompttuned.tuned-*.json"))
    assert len(tuned) == 1
    assert json.loads(tuned[0].read_text())["prompt"] in samples["prompt"].iloc[0]
    # a rerun neither tunes nor samples again
    before = len(server.received)
    run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    assert len(server.received) == before


def test_run_with_the_client_alone_counts_sent_and_logged(server, tmp_path):
    client = ChatClient(settings(server), tmp_path / "log.jsonl")
    messages = [{"role": "user", "content": "hello"}]
    first = client.complete(messages, "a")
    assert client.complete(messages, "a") == first
    assert (client.sent, client.from_log, len(server.received)) == (1, 1, 1)


def test_max_tokens_null_is_not_sent_and_seeds_follow_send_seed(server, tmp_path):
    client = ChatClient(settings(server, max_tokens=None, send_seed=False), tmp_path / "log.jsonl")
    client.complete([{"role": "user", "content": "hello"}], "a")
    assert "max_tokens" not in server.bodies[-1] and "seed" not in server.bodies[-1]
    seeded = ChatClient(settings(server), tmp_path / "seeded.jsonl", seed=7)
    seeded.complete([{"role": "user", "content": "hello"}], "a")
    assert server.bodies[-1]["max_tokens"] == 200 and isinstance(server.bodies[-1]["seed"], int)


def test_request_rate_limit_spaces_requests_even_with_concurrency(server, exemplar_rewards, tmp_path):
    s = settings(server, n=9, concurrency=4, requests_per_minute=600)  # one request start per 0.1 s
    run_api_baseline(s, exemplar_rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0)
    # the 9th request starts 0.8 s after the 1st (whose arrival may lag its start by the client's
    # first connection); unlimited, 4 at a time, all 9 arrive within a few tens of ms
    assert len(server.arrivals) == 9 and server.arrivals[-1] - server.arrivals[0] >= 0.6
