#!/usr/bin/python3
"""Convert a PyTorch .pth checkpoint to safetensors that segcore loads (docs/weights.md).

    /usr/bin/python3 scripts/convert_pth.py resnet50-0676ba61.pth resnet50.safetensors
    /usr/bin/python3 scripts/convert_pth.py fcn_resnet50_coco-1167a1af.pth fcn.safetensors \\
        --model-json '{"name": "fcn", "num_classes": 21, "backbone": "resnet50", "aux_loss": true}'

The checkpoint may be a plain state dict (torchvision's published weights) or a dict holding one
under "state_dict" or "model" (training scripts; torchvision's references save {"model": ...,
"optimizer": ...}); --key picks another entry. A "module." prefix (DataParallel /
DistributedDataParallel) is stripped. Keys keep their names and order, so they match segcore's
torchvision-compatible parameter names.

--model-json (a file or inline JSON) embeds a segcore model spec in the metadata ("model", with
"format": "segcore-model-1", seg/models/model_file.h): `segcore info file.safetensors` and
load_model_file then rebuild the network from the file alone. Without it the output is a bare
state dict (nn::load_module into a model you build, e.g. a backbone, non-strictly).

Needs PyTorch only here, never at run time, and not the `safetensors` package: the format is
written by hand (8-byte little-endian header length, JSON header padded with spaces to a multiple
of 8, then the raw little-endian tensor bytes in header order).
"""
import argparse
import json
import os
import struct
import sys

import torch

# The dtypes segcore's safetensors reader accepts (core/safetensors.h).
ST_NAME = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int32: "I32", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}


def load_checkpoint(path, trust_pickle):
    try:
        # weights_only refuses arbitrary pickled objects: a checkpoint from elsewhere cannot run code.
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # torch reports refused globals as UnpicklingError / RuntimeError
        if trust_pickle:
            raise
        sys.exit(f"convert_pth: {path}: cannot load with weights_only=True ({e}).\n"
                 "If you trust this file, rerun with --trust-pickle.")


def find_state_dict(ckpt, key):
    """The tensor dict inside a checkpoint: ckpt[key], ckpt["state_dict"], ckpt["model"] or ckpt."""
    if key is not None:
        if not isinstance(ckpt, dict) or key not in ckpt:
            sys.exit(f"convert_pth: no entry '{key}' in the checkpoint (top-level keys: {top_keys(ckpt)})")
        ckpt = ckpt[key]
    elif isinstance(ckpt, dict):
        for k in ("state_dict", "model"):
            if isinstance(ckpt.get(k), dict):
                ckpt = ckpt[k]
                break
    if isinstance(ckpt, torch.nn.Module):
        ckpt = ckpt.state_dict()
    if not isinstance(ckpt, dict):
        sys.exit(f"convert_pth: expected a state dict, found {type(ckpt).__name__}")
    others = [k for k, v in ckpt.items() if not isinstance(v, torch.Tensor)]
    if others:
        sys.exit(f"convert_pth: not a state dict: entries {others[:8]} are not tensors "
                 f"(top-level keys: {top_keys(ckpt)}); pick the state dict with --key")
    return ckpt


def top_keys(obj):
    return list(obj.keys())[:12] if isinstance(obj, dict) else type(obj).__name__


def rename(state, strip, add):
    out = {}
    for k, v in state.items():
        if strip and k.startswith(strip):
            k = k[len(strip):]
        k = add + k
        if k in out:
            sys.exit(f"convert_pth: two entries become '{k}' after renaming")
        out[k] = v
    return out


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype not in ST_NAME:
        raise ValueError(f"dtype {t.dtype} is not one segcore reads ({', '.join(ST_NAME.values())})")
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    # A reinterpretation as bytes: bf16 has no numpy type, and the bytes are what the file holds.
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    if sys.byteorder != "little":
        sys.exit("convert_pth: safetensors is little-endian; this script writes host bytes")
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        try:
            b = tensor_bytes(t)
        except ValueError as e:
            sys.exit(f"convert_pth: '{name}': {e}")
        header[name] = {"dtype": ST_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:  # written aside, then renamed: never a half-written output
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_model_json(arg):
    text = arg if arg.lstrip().startswith("{") else open(arg).read()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"convert_pth: --model-json: not valid JSON: {e}")
    if not isinstance(spec, dict) or "name" not in spec or "num_classes" not in spec:
        sys.exit('convert_pth: --model-json: expected a segcore model spec, an object with "name" and "num_classes"')
    return spec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help=".pth / .pt checkpoint")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--model-json", help="segcore model spec (file or inline JSON) to embed as metadata")
    ap.add_argument("--key", help="checkpoint entry holding the state dict (default: state_dict, model or the top level)")
    ap.add_argument("--strip-prefix", default="module.", help="prefix removed from keys (default 'module.')")
    ap.add_argument("--add-prefix", default="", help="prefix added to every key, e.g. 'backbone.'")
    ap.add_argument("--trust-pickle", action="store_true", help="load with weights_only=False (runs the pickle's code)")
    a = ap.parse_args(argv)

    state = rename(find_state_dict(load_checkpoint(a.input, a.trust_pickle), a.key), a.strip_prefix, a.add_prefix)
    metadata = {"converted_from": os.path.basename(a.input)}
    if a.model_json:
        metadata["model"] = json.dumps(read_model_json(a.model_json), separators=(",", ":"))
        metadata["format"] = "segcore-model-1"
    write_safetensors(a.output, state, metadata)
    for k, v in state.items():
        print(f"{k}\t{ST_NAME[v.dtype]}\t{list(v.shape)}")
    n = sum(v.numel() for v in state.values())
    print(f"wrote {a.output}: {len(state)} tensors, {n} elements" + (", with a model spec" if a.model_json else ""))


if __name__ == "__main__":
    main()
