"""`storehub decode`: PNG, JPEG and PGM images through the kiosk decoder, one JSON object per image."""

import base64
import json
import subprocess

import barcode
import numpy as np
import segno
from PIL import Image

from conftest import BINARY

EX_DATAERR = 65


def quiet_qr(text, path, invert=False, **options):
    """A QR code on a grey card with sensor-like noise, saved in the format the suffix names."""
    qr = segno.make(text, micro=False, **options)
    modules = np.array([[1 if cell else 0 for cell in row] for row in qr.matrix], np.uint8)
    return save_card(np.kron(modules, np.ones((5, 5), np.uint8)), path, quiet=20, invert=invert)


def linear(modules, path, module=3, height=70):
    row = np.array([int(c) for c in modules], np.uint8)
    return save_card(np.tile(np.repeat(row, module), (height, 1)), path, quiet=36)


def save_card(ink, path, quiet, invert=False):
    """ink: 1 where the code is dark. Pasted onto a 960x540 scene with mild noise."""
    rng = np.random.default_rng(11)
    scene = np.full((540, 960), 120.0) + rng.normal(0, 3, (540, 960))
    dark, light = (230.0, 30.0) if invert else (25.0, 225.0)
    card = np.where(np.pad(ink, quiet) == 1, dark, light)
    y, x = (540 - card.shape[0]) // 2, (960 - card.shape[1]) // 2
    scene[y:y + card.shape[0], x:x + card.shape[1]] = card + rng.normal(0, 3, card.shape)
    image = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8))
    if path.suffix == ".jpg":
        image.save(path, quality=92)
    else:
        image.save(path)
    return path


def decode(*paths, args=()):
    result = subprocess.run([str(BINARY), "decode", *args, *map(str, paths)], capture_output=True, text=True,
                            timeout=60)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.returncode, lines, result.stderr


def only_symbol(result):
    assert "error" not in result, result
    assert len(result["symbols"]) == 1, f"{result['file']}: {result['symbols']}"
    return result["symbols"][0]


def test_png_jpeg_and_pgm_decode_to_their_exact_payloads(tmp_path):
    utf8 = "Abholung – Müller 取件 PU-20261201"
    files = [
        quiet_qr(utf8, tmp_path / "pickup.png", error="m"),
        linear(barcode.get("ean13", "4006381333931").build()[0], tmp_path / "product.jpg"),
        linear(barcode.get("code128", "STOREHUB-42").build()[0], tmp_path / "label.pgm"),
    ]
    code, results, stderr = decode(*files)
    assert code == 0, stderr
    assert [r["file"] for r in results] == [str(f) for f in files]
    qr = only_symbol(results[0])
    assert (qr["symbology"], qr["text"]) == ("qr", utf8)
    assert base64.b64decode(qr["bytes"]) == utf8.encode()
    ean = only_symbol(results[1])
    assert (ean["symbology"], ean["text"], ean["gtin"]) == ("ean13", "4006381333931", "4006381333931")
    label = only_symbol(results[2])
    assert (label["symbology"], label["text"], label["strategy"]) == ("code128", "STOREHUB-42", "plain")
    for result in results:
        assert result["decodeMs"] >= 0 and result["loadMs"] >= 0
        assert len(result["symbols"][0]["polygon"]) >= 2


def test_gs1_128_is_split_into_application_identifiers(tmp_path):
    element = "0104012345678901" + "17261231" + "10LOT42\x1d" + "3103001250"
    path = linear(barcode.get("gs1_128", element.replace("\x1d", "\xf1")).build()[0], tmp_path / "gs1.png", module=2)
    code, results, stderr = decode(path)
    assert code == 0, stderr
    symbol = only_symbol(results[0])
    assert symbol["text"] == element
    assert symbol["gs1"] == [
        {"ai": "01", "value": "04012345678901"}, {"ai": "17", "value": "261231"},
        {"ai": "10", "value": "LOT42"}, {"ai": "3103", "value": "001250"},
    ]


def test_inverted_and_kanji_qr_codes(tmp_path):
    inverted = quiet_qr("PU-77777777", tmp_path / "inverted.png", invert=True, error="m")
    kanji = quiet_qr("漢字テスト", tmp_path / "kanji.png", mode="kanji", error="m")
    code, results, stderr = decode(inverted, kanji)
    assert code == 0, stderr
    first = only_symbol(results[0])
    assert (first["text"], first["strategy"]) == ("PU-77777777", "inverted")
    second = only_symbol(results[1])
    assert second["text"] == "漢字テスト"
    assert base64.b64decode(second["bytes"]) == "漢字テスト".encode("shift_jis")


def test_image_without_code_gives_no_symbols(tmp_path):
    path = tmp_path / "empty.png"
    rng = np.random.default_rng(5)
    Image.fromarray(np.clip(rng.normal(128, 6, (360, 480)), 0, 255).astype(np.uint8)).save(path)
    code, results, stderr = decode(path)
    assert code == 0, stderr
    assert results[0]["symbols"] == []


def test_damaged_and_unknown_files_are_named_and_the_rest_still_decoded(tmp_path):
    good = quiet_qr("PU-12345678", tmp_path / "good.png", error="m")
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(good.read_bytes()[:60])
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    code, results, stderr = decode(damaged, text, good, tmp_path / "missing.png")
    assert code == EX_DATAERR, f"exit code {code}"
    assert len(results) == 4
    assert str(damaged) in results[0]["error"] and "PNG" in results[0]["error"]
    assert str(text) in results[1]["error"] and "not a PNG, JPEG or binary PGM" in results[1]["error"]
    assert only_symbol(results[2])["text"] == "PU-12345678"
    assert "cannot be read" in results[3]["error"]


def test_unknown_strategy_is_refused(tmp_path):
    code, results, stderr = decode(tmp_path / "x.png", args=("--strategies", "inverted,sharpen"))
    assert code == 64 and results == []
    assert "unknown decode strategy 'sharpen'" in stderr
