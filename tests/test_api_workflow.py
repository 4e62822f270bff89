"""API baselines in the Snakemake DAG: absent by default, scored and tabled like any source when configured."""

import json

import pandas as pd
import pytest
import yaml

from .helpers import copy_workflow, run
from .openai_server import ChatServer

pytestmark = pytest.mark.workflow


def api_overlay(base_url: str) -> dict:
    common = {
        "base_url": base_url,
        "model": "test-model",
        "exemplars_from": "example",
        "n_good": 2,
        "n_bad": 1,
        "concurrency": 2,
    }
    return {
        "baselines": {
            "api": {
                "fewshot": {**common, "method": "few_shot", "n": 6},
                "agent_llm_judge": {**common, "method": "agent_llm_judge", "n": 2},
                "agent_calphad_judge": {
                    **common,
                    "method": "agent_calphad_judge",
                    "n": 1,
                    "max_loops": 1,
                    "max_generations": 2,
                },
            }
        }
    }


def test_default_dag_has_no_api_jobs():
    text = run(["-n", "--forceall", "--configfile", "tests/config/config.yaml"]).stdout
    assert "api_baseline" not in text


def test_configured_api_sources_reach_table1_inputs(tmp_path):
    overlay = tmp_path / "api.yaml"
    overlay.write_text(yaml.safe_dump(api_overlay("http://127.0.0.1:9/v1")))
    text = run(["-n", "--forceall", "--configfile", "tests/config/config.yaml", str(overlay)]).stdout
    assert text.count("rule api_baseline:") + text.count("localrule api_baseline:") == 3
    metrics = [b for b in text.split("\n\n") if "rule metrics:" in b][0]
    for name in ("fewshot", "agent_llm_judge", "agent_calphad_judge"):
        assert f"results/scores/{name}/rewards.parquet" in metrics


def test_api_sources_run_through_the_dag_against_a_local_server(tmp_path):
    work = copy_workflow(tmp_path)
    # fewshot all the way to its figure; the agents to their samples (scoring is the same for every source)
    targets = ["results/scores/fewshot/rewards.parquet", "results/figures/top/fewshot.png"]
    targets += ["results/baselines/agent_llm_judge.parquet", "results/baselines/agent_calphad_judge.parquet"]
    # answers only of Al and Ni, so scoring compiles one system (the design space has Mo and Nb too)
    with ChatServer(["Al", "Ni"]) as server:
        (work / "api.yaml").write_text(yaml.safe_dump(api_overlay(server.base_url)))
        args = ["--cores", "2", "--set-scatter", "score=1", "--configfile", "tests/config/config.yaml", "api.yaml"]
        run(targets + args, cwd=work)
        sent = len(server.received)
        fewshot = pd.read_parquet(work / "results/baselines/fewshot.parquet")
        assert len(fewshot) == 6 and set(fewshot["stage"]) == {"few_shot"}
        # the exemplars are the example source's best parsed triples, in the Fig. 6 prompt
        assert "Examples of good generations:\n\n<BCC>Ni</BCC>\n<B2>NiAl</B2>" in fewshot["prompt"].iloc[0]
        rewards = pd.read_parquet(work / "results/scores/fewshot/rewards.parquet")
        assert list(rewards["candidate_id"]) == list(fewshot["candidate_id"])
        report = json.loads((work / "results/baselines/agent_calphad_judge_api.json").read_text())
        assert report["calphad_calls"] == report["generator_calls"] >= 1 and report["judge_llm_calls"] == 0
        requests = sum(
            json.loads((work / f"results/baselines/{name}_api.json").read_text())["requests_sent"]
            for name in ("fewshot", "agent_llm_judge", "agent_calphad_judge")
        )
        assert requests == sent
        # a forced rerun of the API jobs answers everything from the request logs
        baselines = [
            f"results/baselines/{name}.parquet" for name in ("fewshot", "agent_llm_judge", "agent_calphad_judge")
        ]
        run(baselines + ["--forcerun", "api_baseline"] + args, cwd=work)
        assert len(server.received) == sent
