#!/usr/bin/python3
"""Convert a PyTorch .pth checkpoint to a safetensors file that segcore loads (docs/weights.md).

    /usr/bin/python3 scripts/convert_pth.py resnet50-0676ba61.pth resnet50.safetensors --preset imagenet
    /usr/bin/python3 scripts/convert_pth.py fcn_resnet50_coco-1167a1af.pth fcn.safetensors --preset imagenet \\
        --classes voc --model-json '{"name": "fcn", "num_classes": 21, "backbone": "resnet50", "aux_loss": true}'

The checkpoint may be a plain state dict (torchvision's published weights) or a dict holding one
under "state_dict" or "model" (training scripts; torchvision's references save {"model": ...,
"optimizer": ...}); --key picks another entry. A "module." prefix (DataParallel /
DistributedDataParallel) is stripped. Keys keep their names and order, so they match segcore's
torchvision-compatible parameter names. The input may also be a .safetensors file (a file converted
before, to record its preprocessing or classes); that needs no PyTorch.

The model card (seg/inference/model_card.h) goes into the metadata:
  "preprocessing"  what segcore does to a 0..255 image before the network: --preset imagenet
                   (torchvision's RGB, /255, mean 0.485 0.456 0.406, std 0.229 0.224 0.225), or
                   --mean/--std/--scale/--order, or --raw (raw 0..255 pixels, on purpose).
  "classes"        --classes: a comma list, a file with one name per line, or "voc" (the 21 classes
                   of torchvision's COCO-trained segmentation weights).
--model-json (a file or inline JSON) embeds a segcore model spec ("model", with "format":
"segcore-model-1", seg/models/model_file.h) so `segcore predict`/`eval` rebuild the network from the
file alone. Such a file needs a preprocessing choice, and it is checked here, before it is
written: the script runs `segcore info --check` on it (the network built from the spec, every
weight loaded strictly by name and shape, the model card validated) and writes nothing if that
fails. --segcore names the binary (default: $SEGCORE, then build/apps/segcore of this checkout,
then segcore on PATH); --no-check skips the check.

Needs PyTorch only for .pth input, never at run time, and not the `safetensors` package: the
format is read and written by hand (8-byte little-endian header length, JSON header padded with
spaces to a multiple of 8, then the raw little-endian tensor bytes in header order).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

# torch dtypes -> safetensors names, for the dtypes segcore's reader accepts (core/safetensors.h).
ST_DTYPES = ["F32", "F64", "F16", "BF16", "I32", "I64", "U8", "BOOL"]

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

# torchvision's COCO-trained segmentation weights predict the 20 Pascal VOC classes + background
# (their meta["categories"], with "__background__" named as segcore's VOC preset names it).
VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor"]


def die(msg):
    sys.exit(f"convert_pth: {msg}")


class Tensor:
    """A tensor as the file holds it: safetensors dtype name, shape, raw little-endian bytes."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, list(shape), data

    def numel(self):
        n = 1
        for s in self.shape:
            n *= s
        return n


# ---- reading ----

def load_checkpoint(path, trust_pickle):
    import torch  # only .pth input needs it
    try:
        # weights_only refuses arbitrary pickled objects: a checkpoint from elsewhere cannot run code.
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # torch reports refused globals as UnpicklingError / RuntimeError
        if trust_pickle:
            raise
        die(f"{path}: cannot load with weights_only=True ({e}).\nIf you trust this file, rerun with --trust-pickle.")


def find_state_dict(ckpt, key):
    """The tensor dict inside a checkpoint: ckpt[key], ckpt["state_dict"], ckpt["model"] or ckpt."""
    import torch
    if key is not None:
        if not isinstance(ckpt, dict) or key not in ckpt:
            die(f"no entry '{key}' in the checkpoint (top-level keys: {top_keys(ckpt)})")
        ckpt = ckpt[key]
    elif isinstance(ckpt, dict):
        for k in ("state_dict", "model"):
            if isinstance(ckpt.get(k), dict):
                ckpt = ckpt[k]
                break
    if isinstance(ckpt, torch.nn.Module):
        ckpt = ckpt.state_dict()
    if not isinstance(ckpt, dict):
        die(f"expected a state dict, found {type(ckpt).__name__}")
    others = [k for k, v in ckpt.items() if not isinstance(v, torch.Tensor)]
    if others:
        die(f"not a state dict: entries {others[:8]} are not tensors (top-level keys: {top_keys(ckpt)}); "
            "pick the state dict with --key")
    return {k: from_torch(k, v) for k, v in ckpt.items()}


def from_torch(name, t):
    import torch
    names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int32: "I32", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}
    if t.dtype not in names:
        die(f"'{name}': dtype {t.dtype} is not one segcore reads ({', '.join(ST_DTYPES)})")
    dtype, shape = names[t.dtype], list(t.shape)
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    # A reinterpretation as bytes: bf16 has no numpy type, and the bytes are what the file holds.
    return Tensor(dtype, shape, t.reshape(-1).view(torch.uint8).numpy().tobytes())


def top_keys(obj):
    return list(obj.keys())[:12] if isinstance(obj, dict) else type(obj).__name__


def read_safetensors(path):
    """(tensors by name in file order, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        die(f"{path}: too short for a safetensors file")
    n = struct.unpack("<Q", blob[:8])[0]
    if 8 + n > len(blob):
        die(f"{path}: the header length {n} runs past the end of the file")
    try:
        header = json.loads(blob[8:8 + n])
    except ValueError as e:
        die(f"{path}: the header is not valid JSON: {e}")
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = e["data_offsets"]
        if e["dtype"] not in ST_DTYPES:
            die(f"{path}: '{name}': dtype {e['dtype']} is not one segcore reads")
        tensors[name] = Tensor(e["dtype"], e["shape"], blob[base + a:base + b])
    return tensors, metadata


def rename(state, strip, add):
    out = {}
    for k, v in state.items():
        if strip and k.startswith(strip):
            k = k[len(strip):]
        k = add + k
        if k in out:
            die(f"two entries become '{k}' after renaming")
        out[k] = v
    return out


# ---- the model card ----

def floats(text, flag):
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        die(f"{flag}: expected comma-separated numbers, got '{text}'")
    if len(v) not in (1, 3):
        die(f"{flag}: expected 1 or 3 values (one per channel), got {len(v)}")
    return v


def preprocessing(a):
    """The "preprocessing" metadata (a JSON transform list, data/transforms.h), or None."""
    custom = a.mean is not None or a.std is not None
    if sum([a.preset is not None, custom, a.raw]) > 1:
        die("give one of --preset, --mean/--std or --raw")
    if a.raw:
        return []
    if a.preset == "imagenet":
        norm = {"type": "normalize", **IMAGENET, "scale": "0-1", "order": "rgb"}
    elif custom:
        if a.mean is None or a.std is None:
            die("--mean and --std go together")
        mean, std = floats(a.mean, "--mean"), floats(a.std, "--std")
        if len(mean) != len(std):
            die(f"--mean has {len(mean)} values, --std {len(std)}")
        if any(s <= 0 for s in std):
            die("--std: every value must be positive")
        norm = {"type": "normalize", "mean": mean, "std": std, "scale": a.scale, "order": a.order}
    else:
        return None
    if norm["order"] == "bgr" and len(norm["mean"]) != 3:
        die("--order bgr needs 3 channels")
    return [norm]


def read_classes(arg):
    if arg == "voc":
        return VOC_CLASSES
    if os.path.isfile(arg):
        with open(arg) as f:
            names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    else:
        names = [x.strip() for x in arg.split(",")]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        die(f"--classes: expected distinct, non-empty names, got {names}")
    return names


def read_model_json(arg):
    text = arg if arg.lstrip().startswith("{") else open(arg).read()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        die(f"--model-json: not valid JSON: {e}")
    if not isinstance(spec, dict) or "name" not in spec or "num_classes" not in spec:
        die('--model-json: expected a segcore model spec, an object with "name" and "num_classes"')
    return spec


# ---- writing and checking ----

def write_safetensors(path, tensors, metadata):
    if sys.byteorder != "little":
        die("safetensors is little-endian; this script writes host bytes")
    header, offset = {}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + len(t.data)]}
        offset += len(t.data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            f.write(t.data)
        f.flush()
        os.fsync(f.fileno())


def find_segcore(arg):
    if arg:
        return arg
    if os.environ.get("SEGCORE"):
        return os.environ["SEGCORE"]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "apps", "segcore")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("segcore")


def check_with_segcore(segcore, path, shown):
    """`segcore info --check`: the spec builds, every weight fits it, the card is valid."""
    try:
        r = subprocess.run([segcore, "info", "--check", path], capture_output=True, text=True)
    except OSError as e:
        die(f"cannot run {segcore} to check the model file: {e} (give --segcore PATH, or --no-check)")
    out = (r.stdout + r.stderr).replace(path, shown).strip()
    return r.returncode == 0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help=".pth / .pt checkpoint, or a .safetensors file to annotate")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--model-json", help="segcore model spec (file or inline JSON) to embed as metadata")
    ap.add_argument("--preset", choices=["imagenet"], help="preprocessing of torchvision's models: RGB, /255, "
                    "ImageNet mean and std")
    ap.add_argument("--mean", help="normalisation mean per channel, e.g. 0.5,0.5,0.5 (on the --scale)")
    ap.add_argument("--std", help="normalisation std per channel")
    ap.add_argument("--scale", choices=["0-1", "0-255"], default="0-1", help="pixel scale --mean/--std refer to "
                    "(default 0-1: pixels are divided by 255 first)")
    ap.add_argument("--order", choices=["rgb", "bgr"], default="rgb", help="channel order the network takes "
                    "(default rgb; bgr for Caffe-style weights)")
    ap.add_argument("--raw", action="store_true", help="the network takes raw 0..255 pixels (records an empty "
                    "preprocessing, so segcore does not warn)")
    ap.add_argument("--classes", help="class names: comma list, a file with one per line, or 'voc'")
    ap.add_argument("--key", help="checkpoint entry holding the state dict (default: state_dict, model or the top level)")
    ap.add_argument("--strip-prefix", default="module.", help="prefix removed from keys (default 'module.')")
    ap.add_argument("--add-prefix", default="", help="prefix added to every key, e.g. 'backbone.'")
    ap.add_argument("--trust-pickle", action="store_true", help="load with weights_only=False (runs the pickle's code)")
    ap.add_argument("--segcore", help="segcore binary for the check (default: $SEGCORE, build/apps/segcore, PATH)")
    ap.add_argument("--no-check", action="store_true", help="do not check the file with `segcore info --check`")
    a = ap.parse_args(argv)

    if a.input.endswith(".safetensors"):
        state, metadata = read_safetensors(a.input)
    else:
        state = find_state_dict(load_checkpoint(a.input, a.trust_pickle), a.key)
        metadata = {"converted_from": os.path.basename(a.input)}
    state = rename(state, a.strip_prefix, a.add_prefix)
    if a.model_json:
        metadata["model"] = json.dumps(read_model_json(a.model_json), separators=(",", ":"))
        metadata["format"] = "segcore-model-1"
    pre = preprocessing(a)
    if pre is not None:
        metadata["preprocessing"] = json.dumps(pre, separators=(",", ":"))
    if a.classes:
        metadata["classes"] = json.dumps(read_classes(a.classes))
        metadata.pop("palette", None)  # a palette for other classes would not fit; segcore picks one
    if "model" in metadata and "preprocessing" not in metadata:
        die("a model file needs its preprocessing, else segcore feeds raw 0..255 pixels to the network: give "
            "--preset imagenet (torchvision's models), --mean/--std [--scale] [--order], or --raw")

    tmp = f"{a.output}.tmp-{os.getpid()}.safetensors"  # written aside, then renamed: never a half-written output
    try:
        write_safetensors(tmp, state, metadata)
        if "model" in metadata and not a.no_check:
            segcore = find_segcore(a.segcore)
            if not segcore:
                die("no segcore binary to check the model file with: give --segcore PATH (or --no-check)")
            ok, out = check_with_segcore(segcore, tmp, a.output)
            if not ok:
                die(f"the model spec does not fit the checkpoint; nothing written to {a.output}:\n{out}")
            print(out)
        os.replace(tmp, a.output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    for k, v in state.items():
        print(f"{k}\t{v.dtype}\t{v.shape}")
    n = sum(v.numel() for v in state.values())
    extras = [w for w, on in (("a model spec", "model" in metadata), ("preprocessing", "preprocessing" in metadata),
                              ("classes", "classes" in metadata)) if on]
    print(f"wrote {a.output}: {len(state)} tensors, {n} elements" + (", with " + ", ".join(extras) if extras else ""))


if __name__ == "__main__":
    main()
