"""Saving a finished model never destroys it: a model folder that is a symbolic link (kept on
another disk) is written through, the link kept; a file in its place is replaced; and when the
folder cannot be put in place, the error names where its finished files are."""

import os

import pytest

import alloypref.io
from alloypref.io import atomic_directory


def save(path, text):
    with atomic_directory(path) as saving:
        (saving / "model.safetensors").write_text(text, encoding="utf-8")


def test_a_symlinked_model_folder_is_written_through_and_kept_a_link(tmp_path):
    elsewhere = tmp_path / "big_disk" / "model"
    elsewhere.mkdir(parents=True)
    (elsewhere / "model.safetensors").write_text("old", encoding="utf-8")
    link = tmp_path / "results" / "model"
    link.parent.mkdir()
    link.symlink_to(elsewhere)
    save(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(elsewhere)
    assert (link / "model.safetensors").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ["model"]  # nothing left beside it


def test_a_dangling_model_link_gets_its_folder(tmp_path):
    link = tmp_path / "model"
    link.symlink_to(tmp_path / "gone" / "model")
    save(link, "new")
    assert (tmp_path / "gone" / "model" / "model.safetensors").read_text(encoding="utf-8") == "new"


def test_a_file_in_the_model_folders_place_is_replaced(tmp_path):
    (tmp_path / "model").write_text("stray", encoding="utf-8")
    save(tmp_path / "model", "new")
    assert (tmp_path / "model" / "model.safetensors").read_text(encoding="utf-8") == "new"


def test_a_model_that_cannot_be_put_in_place_is_kept_and_named(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.safetensors").write_text("old", encoding="utf-8")
    real_replace = os.replace

    def refuse_the_new_folder(source, target):
        if str(source).endswith(".partial"):
            raise PermissionError(13, "Permission denied")
        return real_replace(source, target)

    monkeypatch.setattr(alloypref.io.os, "replace", refuse_the_new_folder)
    with pytest.raises(OSError, match="its finished files are in") as error:
        save(tmp_path / "model", "new")
    kept = error.value.args[0].rsplit("its finished files are in ", 1)[1]
    assert (tmp_path / kept.split("/")[-1] / "model.safetensors").read_text(encoding="utf-8") == "new"
    assert (tmp_path / "model" / "model.safetensors").read_text(encoding="utf-8") == "old"  # put back
