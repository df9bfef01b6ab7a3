"""Generate `firmware/core/protocol_spec.h` from the protocol spec in `protocol.py`.

    python -m bedside.protocol_header            # rewrite the header
    python -m bedside.protocol_header --check    # exit 1 if it is stale

The header is committed (the firmware builds without Python); a test fails when it differs
from what this module generates, so the spec cannot drift between the two languages.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bedside.banner import banner
from bedside.contract import protocol as p
from bedside.kitfiles import FIRMWARE_DIR

HEADER_PATH = FIRMWARE_DIR / "core" / "protocol_spec.h"
COMMAND = "python -m bedside.protocol_header"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.lower().split("_"))


def render() -> str:
    msg = "\n".join(f"  k{_camel(m.name)} = 0x{m.value:02X}," for m in p.MsgType)
    nak = "\n".join(f"  kNak{_camel(c.name)} = {c.value}," for c in p.NakCode)
    sizes = {
        "kProtocolVersion": ("uint8_t", p.VERSION, "frame header byte 0"),
        "kMaxPayload": ("size_t", p.MAX_PAYLOAD, ""),
        "kHeaderBytes": ("size_t", p.HEADER_BYTES, "version u8, type u8, seq u16, length u16"),
        "kCrcBytes": ("size_t", p.CRC_BYTES, "CRC-32 (zlib) of header + payload"),
        "kSeqUntrusted": ("uint16_t", p.UNTRUSTED_SEQ, "seq of unsolicited frames and NAKs "
                          "for frames whose seq cannot be trusted"),
        "kResultHeaderBytes": ("size_t", p.RESULT_HEADER_BYTES, "window u32, sample u32, "
                               "cycles u32, alarm u8, flags u8; then the output tensor"),
        "kResultFlagCalibrated": ("uint8_t", p.RESULT_FLAG_CALIBRATED, ""),
        "kResultFlagModelError": ("uint8_t", p.RESULT_FLAG_MODEL_ERROR, ""),
        "kResultFlagQuality": ("uint8_t", p.RESULT_FLAG_QUALITY, "data quality (safety.h)"),
        "kResultReasonShift": ("int", p.RESULT_REASON_SHIFT,
                               "flags >> this: safety-floor rule number, 0 = none"),
        "kResultsHeadBytes": ("size_t", p.RESULTS_HEAD.size, "samples_total u32, n_results u8, "
                              "n_floor u8; then the floor records, then the RESULT records"),
        "kFloorRecordBytes": ("size_t", p.FLOOR_RECORD_BYTES, "per sample: flags u8 (quality, "
                              "reason as in RESULT), cause u8 (safety.h)"),
        "kFloorEventHeadBytes": ("size_t", p.FLOOR_EVENT.size, "FLOOR: sample_index u32, flags "
                                 "u8, cause u8; then the raw sample"),
        "kSimulateRequestBytes": ("size_t", p.SIMULATE_REQUEST.size,
                                  "n_samples u32, seed u32, deteriorate u8"),
        "kCalibHeadBytes": ("size_t", p.CALIB_HEAD.size, "calibrated u8, samples u32, "
                            "calib_samples u32; then baseline and centre, C x i16 each"),
        "kNakBytes": ("size_t", p.NAK.size, "code u8, detail u16"),
        "kInfoPartHeadBytes": ("size_t", p.INFO_PART.size, "INFO part: part u8, parts u8"),
        "kInfoPartBytes": ("size_t", p.INFO_PART_BYTES, "INFO payload bytes per part"),
        "kInfoMaxBytes": ("size_t", p.INFO_BYTES_MAX, "INFO payload with a 32-byte board name"),
        "kInferHeadBytes": ("size_t", p.INFER_HEAD.size, "cycles u32; then the output tensor"),
        "kStatsFields": ("size_t", len(p.STATS_FIELDS), ", ".join(p.STATS_FIELDS) + " (u32 each)"),
    }
    consts = "\n".join(f"constexpr {t} {name} = {value};" + (f"  // {c}" if c else "")
                       for name, (t, value, c) in sizes.items())
    head = banner("bedside.protocol_header", "Serial protocol spec (docs/protocol.md).",
                  COMMAND, {"Source": "bedside/contract/protocol.py"})
    return f"""{head}#ifndef BEDSIDE_CORE_PROTOCOL_SPEC_H_
#define BEDSIDE_CORE_PROTOCOL_SPEC_H_

#include <stddef.h>
#include <stdint.h>

namespace bedside {{

{consts}

enum MsgType : uint8_t {{
{msg}
}};

enum NakCode : uint8_t {{
{nak}
}};

}}  // namespace bedside

#endif  // BEDSIDE_CORE_PROTOCOL_SPEC_H_
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the header is stale")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = HEADER_PATH.read_text() if HEADER_PATH.is_file() else ""
        if current != text:
            print(f"{HEADER_PATH} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    from bedside.fileio import write_text
    write_text(HEADER_PATH, text)
    print(f"wrote {HEADER_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
