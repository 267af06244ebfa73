"""The watermark benchmark's Python side (run by `cargo bench -p imaging --bench watermark`).

  corpus DIR          the photo corpus: scikit-image's sample photographs, upscaled to
                      1600 px on the long edge, as PNG files in DIR
  embed JOBS.json     marks each job's clean image with invisible-watermark (imwatermark),
                      method dwtDct or dwtDctSvd, writing PNG copies; prints timings as JSON
  decode JOBS.json    reads each attacked copy back with imwatermark; prints results as JSON

imwatermark's own package imports its RivaGAN method (torch, onnxruntime) at import time;
the benchmark uses only dwtDct and dwtDctSvd, so those two modules are stubbed.
"""

import json
import sys
import time
import types

PHOTOS = [
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
    "retina", "camera", "moon", "coins", "clock", "grass", "brick",
]
LONG_EDGE = 1600


def corpus(out_dir):
    import numpy as np
    import skimage.data
    from PIL import Image

    for name in PHOTOS:
        pixels = getattr(skimage.data, name)()
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        image = Image.fromarray(pixels[..., :3].astype(np.uint8))
        scale = LONG_EDGE / max(image.size)
        size = (round(image.size[0] * scale), round(image.size[1] * scale))
        image.resize(size, Image.LANCZOS).save(f"{out_dir}/{name}.png")
    print(json.dumps(PHOTOS))


def imwatermark():
    for stub in ("torch", "onnxruntime", "onnx"):
        sys.modules.setdefault(stub, types.ModuleType(stub))
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    return WatermarkEncoder, WatermarkDecoder


def embed(jobs_file):
    import cv2

    encoder_class, _ = imwatermark()
    jobs = json.load(open(jobs_file))
    seconds = []
    for job in jobs:
        image = cv2.imread(job["clean"])
        encoder = encoder_class()
        encoder.set_watermark("bits", [int(b) for b in job["bits"]])
        start = time.process_time()
        marked = encoder.encode(image, job["method"])
        seconds.append(time.process_time() - start)
        cv2.imwrite(job["marked"], marked)
    print(json.dumps({"embed_seconds": seconds}))


def decode(jobs_file):
    import cv2

    _, decoder_class = imwatermark()
    jobs = json.load(open(jobs_file))
    results, seconds = [], []
    for job in jobs:
        image = cv2.imread(job["suspect"])
        decoder = decoder_class("bits", len(job["bits"]))
        start = time.process_time()
        try:
            bits = decoder.decode(image, job["method"])
            read = "".join("1" if b else "0" for b in bits)
        except Exception:  # an attacked image it cannot read at all
            read = ""
        seconds.append(time.process_time() - start)
        results.append(read)
    print(json.dumps({"read": results, "decode_seconds": seconds}))


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    {"corpus": corpus, "embed": embed, "decode": decode}[command](argument)
