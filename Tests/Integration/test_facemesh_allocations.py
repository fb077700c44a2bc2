"""The native face pipeline allocates nothing per frame: tracking a face, nor finding it again with the detector.

valgrind's memcheck counts every heap allocation of a process. The facemesh-bench tool (built beside storehub)
runs `--track-only N`: it finds the face once, then makes N tracking updates on a camera-like NV12 frame;
`--detect-only N` drops the track before each update, so the detector runs on every frame. Two runs that differ
only in N must report the same number of allocations; any allocation per frame would show up as (N2 - N1) more.
valgrind cannot read the Swift binary's debug information, so a stripped copy is run.
"""

import re
import shutil
import subprocess

import pytest
from PIL import Image

from conftest import BINARY, REPO

MODELS = REPO / ".cache" / "models"
FACES = REPO / ".cache" / "faces"


def heap_allocations(tool, image, mode, frames):
    result = subprocess.run(
        ["valgrind", "--tool=memcheck", "--leak-check=no", str(tool), "--models", str(MODELS),
         mode, str(frames), str(image)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r"total heap usage: ([\d,]+) allocs", result.stderr)
    assert match, result.stderr[-2000:]
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("mode", ["--track-only", "--detect-only"])
@pytest.mark.parametrize("portrait", ["grace_hopper.jpg", "astronaut.png"])
def test_the_face_pipeline_allocates_nothing_per_frame(tmp_path, portrait, mode):
    assert shutil.which("valgrind"), "valgrind missing: run scripts/install-deps"
    assert (MODELS / "face_landmark.tflite").is_file(), "face models missing: run scripts/install-deps"
    tool = tmp_path / "facemesh-bench"
    subprocess.run(["strip", "-o", str(tool), str(BINARY.parent / "facemesh-bench")], check=True)
    image = tmp_path / "portrait.ppm"
    Image.open(FACES / portrait).convert("RGB").save(image)
    few = heap_allocations(tool, image, mode, 3)
    many = heap_allocations(tool, image, mode, 13)
    assert many == few, f"{mode}: {many - few} allocations in 10 more frames ({few} with 3, {many} with 13)"
