"""Generate the firmware sources in RUN_DIR/int8/gen/ from the manifest and the .tflite.

model_config.h (core constants), model_data.h/.cc (the model as an aligned byte array for
the tflm backend), model_ops.h (TFLM resolver registering exactly the model's ops).
Layout and symbols: docs/architecture.md. No timestamps, so output is reproducible.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside import fileio
from bedside.banner import banner as make_banner
from bedside.contract.manifest import GEN_FORMAT, constants
from .opset import TFLM_OPS

GENERATOR = "bedside convert (converter/gen_sources.py)"


def tflm_arena_bytes(recorded: int) -> int:
    """TFLM arena for the firmware: the host-measured record + 25% + 1 KiB, 16-aligned.

    The record comes from a 64-bit host build; 32-bit targets need less (smaller
    pointers), and the margin covers TFLM version differences in kernel scratch buffers.
    """
    n = recorded + recorded // 4 + 1024
    return (n + 15) // 16 * 16


def banner(command: str, model_sha256: str, what: str) -> str:
    return make_banner(GENERATOR, what, command, {"Input model SHA-256": model_sha256})


def _format_guard() -> str:
    return (f"#define BEDSIDE_GEN_FORMAT {GEN_FORMAT}\n"
            "#if defined(BEDSIDE_FIRMWARE_GEN_FORMAT) && "
            "BEDSIDE_FIRMWARE_GEN_FORMAT != BEDSIDE_GEN_FORMAT\n"
            "#error \"Regenerate the model sources: bedside convert RUN_DIR "
            "(generated format differs from the firmware's BEDSIDE_FIRMWARE_GEN_FORMAT)\"\n"
            "#endif\n")


def _float(x: float) -> str:
    """A C float literal that round-trips float32."""
    return f"{float(np.float32(x)):.9g}f".replace("inf", "INFINITY")


def _ints(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _bytes_c(hexdigest: str) -> str:
    return "{" + ", ".join(f"0x{b:02x}" for b in bytes.fromhex(hexdigest)) + "}"


def _personalization_lines(manifest: dict) -> list[str]:
    """Constants of bedside/contract/personalize.py; absent when the manifest has none (off)."""
    pz = manifest["preprocessing"].get("personalization")
    if not pz:
        return ["// personalization: off (manifest preprocessing.personalization absent)", ""]
    lim = pz["limits"]
    return [
        "// personalization (docs/personalization.md): baseline from the first",
        "// kPersonalCalibSamples samples after a reset; limits in raw units",
        "#define BEDSIDE_GEN_PERSONALIZATION 1",
        f"constexpr int kPersonalCalibSamples = {pz['calib_samples']};",
        f"constexpr int kPersonalBlocks = {pz['blocks']};",
        f"constexpr int kPersonalBlockMinValid = {pz['block_min_valid']};",
        f"constexpr int kPersonalMinBlocks = {pz['min_blocks']};",
        f"constexpr int32_t kPersonalLimitLo[kNumSignals] = "
        f"{_ints(lim[n][0] for n in constants(manifest).names)};",
        f"constexpr int32_t kPersonalLimitHi[kNumSignals] = "
        f"{_ints(lim[n][1] for n in constants(manifest).names)};", ""]


def _safety_lines(manifest: dict) -> list[str]:
    """Rule table and timing (in samples) of bedside/contract/safety.py; absent (off) when
    the manifest has none."""
    from bedside.contract.safety import NO_AGREE, rules, timing
    cfg = manifest["alarm"].get("safety")
    if not cfg:
        return ["// safety floor: off (manifest alarm.safety absent)", ""]
    k = constants(manifest)
    t = timing(cfg, k, manifest["sample_period_s"])
    n = len(rules(cfg, k))
    r = rules(cfg, k) or [(0, False, 0)]       # C has no empty arrays; kSafetyRules says 0
    step = t["step"] or [0]
    agree = [] if all(a == NO_AGREE for a in t["agree"]) else [
        "// agreement: rule r counts a reading only while signal kSafetyAgree[r] (255: none)",
        "// is beyond kSafetyAgreeBound[r] in the same direction",
        "#define BEDSIDE_GEN_SAFETY_AGREE 1",
        f"constexpr uint8_t kSafetyAgree[] = {_ints(t['agree'])};",
        f"constexpr int32_t kSafetyAgreeBound[] = {_ints(t['agree_bound'])};"]
    jump = [] if all(a == NO_AGREE for a in t["jump"]) else [
        "// jump: a run of rule r needs kSafetySlowSustain while signal kSafetyJump[r] (255:",
        "// none) jumps by kSafetyJumpBound[r] raw units between two samples (motion)",
        "#define BEDSIDE_GEN_SAFETY_JUMP 1",
        f"constexpr uint8_t kSafetyJump[] = {_ints(t['jump'])};",
        f"constexpr int16_t kSafetyJumpBound[] = {_ints(t['jump_bound'])};"]
    clear = [] if not any(t["clear"]) else [
        "// deadband: an active rule r holds while its valid value is within the bound by less",
        "// than kSafetyClear[r] raw units (0: none)",
        "#define BEDSIDE_GEN_SAFETY_CLEAR 1",
        f"constexpr int16_t kSafetyClear[] = {_ints(t['clear'])};"]
    return [
        "// safety floor (docs/safety.md): rule r+1 is signal kSafetySignal[r] below",
        "// (kSafetyHigh 0) or above (1) kSafetyBound[r] raw units, confirmed by readings",
        "// spanning kSafetySustain samples (kSafetySlowSustain after a step of kSafetyStep[r]",
        "// from one of the last kSafetyLookback valid values; across a stale gap too when",
        "// kSafetyAfterGap)",
        "#define BEDSIDE_GEN_SAFETY 1",
        f"constexpr int kSafetyRules = {n};",
        f"constexpr uint16_t kSafetySustain = {t['sustain']};",
        f"constexpr uint16_t kSafetySlowSustain = {t['slow_sustain']};",
        f"constexpr uint16_t kSafetyFrozen = {t['frozen']};",
        f"constexpr uint8_t kSafetyLookback = {t['lookback']};",
        f"constexpr uint8_t kSafetyAfterGap = {t['after_gap']};",
        f"constexpr uint8_t kSafetySignal[] = {_ints(x[0] for x in r)};",
        f"constexpr uint8_t kSafetyHigh[] = {_ints(int(x[1]) for x in r)};",
        f"constexpr int32_t kSafetyBound[] = {_ints(x[2] for x in r)};",
        f"constexpr int16_t kSafetyStep[] = {_ints(step)};", *agree, *jump, *clear,
        "// per signal: cadences " + ", ".join(f"{n_} {cfg['cadence'][n_]}" for n_ in k.names),
        f"constexpr uint8_t kSafetyQuality[kNumSignals] = {_ints(t['quality'])};",
        f"constexpr uint8_t kSafetyFrozenSignal[kNumSignals] = {_ints(t['frozen_signal'])};",
        f"constexpr uint16_t kSafetyStale[kNumSignals] = {_ints(t['stale'])};", ""]


def model_config_h(manifest: dict, hdr: str) -> str:
    m, a, w = manifest["model"], manifest["alarm"], manifest["window"]
    k = constants(manifest)      # the manifest, never the signal table
    lines = [
        hdr, "#ifndef BEDSIDE_GEN_MODEL_CONFIG_H_", "#define BEDSIDE_GEN_MODEL_CONFIG_H_", "",
        "#include <stdint.h>  // a C header: the RISC-V/Xtensa toolchains have no libstdc++",
        "", _format_guard(),
        "namespace bedside_gen {", "",
        f"constexpr int kNumSignals = {k.n};",
        f"constexpr int kWindowLength = {w['length']};",
        f"constexpr int kStride = {w['stride']};",
        f"constexpr int kSamplePeriodS = {manifest['sample_period_s']};",
        f"constexpr int16_t kMissingValue = {k.missing};",
        f"constexpr int kFixedPointShift = {k.shift};", "",
        "// per signal, in manifest order: " + ", ".join(k.names),
        f"constexpr int32_t kCenter[kNumSignals] = {_ints(k.center)};",
        f"constexpr int32_t kMultiplier[kNumSignals] = {_ints(k.multiplier)};",
        f"constexpr int32_t kValidMin[kNumSignals] = {_ints(k.valid_min)};",
        f"constexpr int32_t kValidMax[kNumSignals] = {_ints(k.valid_max)};",
        f"constexpr int32_t kCarryLimit[kNumSignals] = {_ints(k.carry_limit)};", "",
        *_personalization_lines(manifest),
        *_safety_lines(manifest),
        f"constexpr int kInputBytes = {m['input']['bytes']};",
        f"constexpr int kOutputBytes = {m['output']['bytes']};",
        f"constexpr float kInputScale = {_float(m['input']['scale'])};",
        f"constexpr int32_t kInputZeroPoint = {m['input']['zero_point']};",
        f"constexpr float kOutputScale = {_float(m['output']['scale'])};",
        f"constexpr int32_t kOutputZeroPoint = {m['output']['zero_point']};", "",
        f"constexpr int8_t kAlarmOnQ = {a['on_q']};",
        f"constexpr int8_t kAlarmOffQ = {a['off_q']};",
        f"constexpr int kAlarmMinDuration = {a['min_duration']};", "",
        f"constexpr uint8_t kModelSha256[32] = {_bytes_c(m['sha256'])};",
        f"constexpr uint8_t kPreprocSha256[32] = {_bytes_c(manifest['preprocessing']['sha256'])};",
        "",
        "// TFLM arena: TFLM's recorded allocation on the host "
        f"({m['arena_bytes_tflm']} bytes) + 25% + 1 KiB",
        f"constexpr uint32_t kTflmArenaBytes = {tflm_arena_bytes(m['arena_bytes_tflm'])}u;", "",
        "static_assert(kAlarmOffQ <= kAlarmOnQ, \"alarm hysteresis needs off <= on\");",
        "static_assert(kInputBytes == kWindowLength * kNumSignals, "
        "\"model input is one int8 window\");", "",
        "}  // namespace bedside_gen", "",
        "#endif  // BEDSIDE_GEN_MODEL_CONFIG_H_", "",
    ]
    return "\n".join(lines)


def model_data_h(n_bytes: int, hdr: str) -> str:
    return "\n".join([
        hdr, "#ifndef BEDSIDE_GEN_MODEL_DATA_H_", "#define BEDSIDE_GEN_MODEL_DATA_H_", "",
        _format_guard(),
        f"// The int8 model flatbuffer ({n_bytes} bytes), 16-byte aligned for TFLM.",
        "extern const unsigned char g_model_data[];",
        "extern const unsigned int g_model_data_len;", "",
        "#endif  // BEDSIDE_GEN_MODEL_DATA_H_", ""])


def model_data_cc(data: bytes, hdr: str) -> str:
    rows = []
    for i in range(0, len(data), 12):
        rows.append("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",")
    return "\n".join([
        hdr, '#include "model_data.h"', "",
        "alignas(16) const unsigned char g_model_data[] = {", *rows, "};",
        f"const unsigned int g_model_data_len = {len(data)};", ""])


def model_ops_h(op_names: list[str], hdr: str) -> str:
    calls = " \\\n".join(f"    (resolver).{TFLM_OPS[n]}();" for n in op_names)
    return "\n".join([
        hdr, "#ifndef BEDSIDE_GEN_MODEL_OPS_H_", "#define BEDSIDE_GEN_MODEL_OPS_H_", "",
        _format_guard(),
        "// Exactly the model's ops: " + ", ".join(op_names),
        "// Use: tflite::MicroMutableOpResolver<BEDSIDE_TFLM_OP_COUNT> r; "
        "BEDSIDE_REGISTER_OPS(r);",
        f"#define BEDSIDE_TFLM_OP_COUNT {len(op_names)}",
        "#define BEDSIDE_REGISTER_OPS(resolver) \\", "  do { \\", calls + " \\",
        "  } while (0)", "", "#endif  // BEDSIDE_GEN_MODEL_OPS_H_", ""])


def write_all(gen_dir: Path, manifest: dict, model: bytes, command: str) -> list[str]:
    """Write the four generated files; returns their names."""
    gen_dir.mkdir(parents=True, exist_ok=True)
    sha = manifest["model"]["sha256"]
    ops = [o["name"] for o in manifest["model"]["ops"]]
    files = {
        "model_config.h": model_config_h(
            manifest, banner(command, sha, "Manifest constants for the firmware core.")),
        "model_data.h": model_data_h(len(model), banner(command, sha, "Model bytes.")),
        "model_data.cc": model_data_cc(model, banner(command, sha, "Model bytes.")),
        "model_ops.h": model_ops_h(ops, banner(command, sha, "TFLM op registration.")),
    }
    for name, text in files.items():
        fileio.write_text(gen_dir / name, text)
    return sorted(files)
