"""The node firmware's numbers: flash/RAM per target, instructions per analysed frame, fraction of time asleep.

    .venv/bin/python benchmarks/bench_firmware.py [--bundle DIR] [--frames 12] [--targets stm32,rv32]
                                                  [--run-ma MA] [--sleep-ma MA] [--profile N]

Sizes. firmware_stm32 (QEMU image and board image, HW=1) and firmware_rv32, each built with the bundle's INT8
model (``make -C firmware_* BUNDLE=...``), read from the linked ELF's sections (what the linker script holds to
the budget: flash = vectors + text + rodata + .data load image + provisioning block; RAM = .data + .bss +
stack) and per module from the linker map (tests/support/cqemu.py).

Instructions. Each image runs on QEMU with ``-icount shift=0,align=off,sleep=on -singlestep -d exec,nochain``
(one trace line per executed instruction, streamed through a FIFO and counted, nothing stored) three times on
the same input: (a) boot + one answered command, (b) ``--frames`` frames of a healthy recording replayed with
the trigger idle (a threshold no frame reaches, no heartbeat: nothing analysed), (c) the same with every frame
analysed.

Instructions per analysed frame are attributed to code, not subtracted between runs: in run (c) every call of
analyse() (vs_node.c: frame copy, features, INT8 model, alarm rule, the SCORE frame encoded and written to
the UART; with the demo bundle every 10th frame also a FEATURES summary) is counted from its first call
(vs_trigger_copy_frame) to the return from its last (vs_baseline_frame) into drain_samples, which it is
inlined into, in thread mode only: the interrupt handlers that preempt it are left out (Cortex-M: handler
mode, which QEMU's trace flags; RV32: trap_handler, mtvec's one entry, to its mret). The trigger's per-block
work (vs_trigger_push_f32, every block whether or not a frame follows) is not in it. The benchmark checks
that it found one call per SCORE frame. QEMU logs a block before running it and logs it again when it had to
leave it first (icount budget spent at a timer deadline, a byte arriving, an I/O access redone): a PC
repeated on consecutive lines, or right after an exception it interrupted, is one instruction (trace_pcs,
TraceCounter). Measured 2026-12-06 (3 runs each, one beside a CPU hog): identical to within 2 instructions
per 12 frames on both targets.

The busy-minus-idle difference, (c - b) / frames, is still printed as a cross-check; it follows the host: the
number of wake-ups (WFI to WFI) depends on when QEMU's I/O thread hands the UART the replayer's bytes, and
each wake-up runs code in neither run's analysis (drain_samples' empty pass, the receive ring's reads, the
clock); the re-logged lines above were counted as instructions before. So three parts are counted apart from
the rest of a run: the timer handlers (scaled to a board's tick rates), wake-ups that only a timer caused (from
WFI to WFI with no UART receive interrupt: the idle poll, the periodic STATUS), and the main loop's own passes
(LOOP_SYMBOLS) together with the replay transport. The "host-independent" awake rates exclude all of them; the
awake rates with the transport / loop passes are printed as well. Awake instructions per second of signal =
(b - a) or (c - a) divided by the signal's duration; the instructions of the UART receive path (the replayed
samples arriving over the emulated UART: receive interrupt + ring push) are reported apart, since on a board
the samples come from the sensor interrupt instead (a DMA transfer per sample, not emulated by QEMU 7.2, so not
counted here). ``--profile N`` prints the N functions whose thread-mode instructions differ most between runs
(c) and (b).

Asleep. QEMU counts instructions, not cycles (DWT CYCCNT reads 0 there). The fraction asleep is estimated as
1 - awake instructions per second / core clock, i.e. assuming one cycle per instruction (a lower bound on
cycles: flash wait states and multi-cycle instructions make the real awake time longer).

Energy. Energy per analysed frame = awake time x I_run x 3.3 V (and the part above sleeping, x (I_run -
I_sleep)); average power at 12 kHz = 3.3 V x (awake fraction x I_run + asleep fraction x I_sleep), trigger
idle and busy. The currents are typical values at 168 MHz from the STM32F405 datasheet, DS8626 Rev 12, section
6.3.6 (see DS8626_RUN_MA below): by default the node's estimate, "all peripherals disabled" (Table 20 Run
mode with the ART accelerator, 40 mA; Table 22 Sleep mode, 12 mA) plus Table 28's currents for the
peripheral clocks the board image enables (10.24 mA), printed with the two bounds (peripherals disabled: 40 /
12 mA; all enabled: 87 / 59 mA). ``--run-ma`` / ``--sleep-ma`` replace them.
"""

from __future__ import annotations

import argparse
import bisect
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cqemu  # noqa: E402
from vibsentry import protocol as vp  # noqa: E402
from vibsentry.nodes import qemu  # noqa: E402

VDD = 3.3
#: Supply currents of the STM32F405 at f_HCLK = 168 MHz, typical values, from STMicroelectronics DS8626 Rev 12
#: (March 2026), "STM32F405xx STM32F407xx" datasheet, section 6.3.6 "Supply current characteristics"
#: (https://www.st.com/resource/en/datasheet/stm32f405rg.pdf; read as a Markdown conversion of Rev 12 in the
#: stored public-code index). Conditions of the tables: TA = 25 C, VDD = 3.3 V, CoreMark-compliant code,
#: external 4 MHz clock with the PLL on, 5 flash wait states at 168 MHz, f_PCLK1 = f_HCLK / 4, f_PCLK2 =
#: f_HCLK / 2 (the board image's own settings, board.c), I/O pins analog; analog blocks (ADC, DAC, HSE, LSE,
#: HSI, LSI) not included.
#: Table 20, Run mode, code and data processing from flash memory with the ART accelerator enabled (or RAM).
DS8626_RUN_MA = {"peripherals disabled": 40.0, "all peripherals enabled": 87.0}
#: Table 22, Sleep mode.
DS8626_SLEEP_MA = {"peripherals disabled": 12.0, "all peripherals enabled": 59.0}
#: Table 28 "Peripheral current consumption" (typ, voltage scale 1, uA per MHz of the peripheral's bus clock,
#: measured with only the clock applied), for the clocks the board image turns on (RCC_*ENR writes in
#: firmware_stm32/src: sampler.c, board.c, iis3dwb.c, usart.c) and the bus matrix, active whenever a master
#: such as DMA2 is on (Table 28 note 2). Bus clocks: AHB 168 MHz, APB1 42 MHz, APB2 84 MHz.
DS8626_NODE_PERIPHERALS = {
    "GPIOA": (2.70, 168.0), "DMA2": (37.69, 168.0), "BKPSRAM": (0.63, 168.0), "bus matrix": (13.10, 168.0),
    "TIM2": (16.71, 42.0), "PWR": (1.00, 42.0), "SPI1": (1.32, 84.0), "USART1": (3.51, 84.0),
}  # fmt: skip
#: The node's peripheral clocks added to the "peripherals disabled" rows: 10.24 mA. Table 28 is measured in Run
#: mode; adding it to the Sleep row assumes the clocks stay on in Sleep (RCC_*LPENR reset values, which the
#: firmware does not change). It counts the clocks only, not DMA transfers or SPI / UART activity.
NODE_PERIPH_MA = sum(ua * mhz for ua, mhz in DS8626_NODE_PERIPHERALS.values()) / 1000.0
DEFAULT_RUN_MA = DS8626_RUN_MA["peripherals disabled"] + NODE_PERIPH_MA
DEFAULT_SLEEP_MA = DS8626_SLEEP_MA["peripherals disabled"] + NODE_PERIPH_MA
#: Functions of the replay transport: the samples' way in under QEMU (UART receive interrupt, ring, frame
#: decoding with COBS and CRC, command dispatch). A board receives no REPLAY frames; its samples arrive by the
#: sampler interrupt instead. CRC code is shared with the encoder (a few SCORE/STATUS frames are counted here).
_TRANSPORT = (
    "board_uart_rx_push", "vs_ring_write_u8", "vs_ring_read_u8", "usart_read", "vs_platform_uart_read",
    "vs_node_rx_bytes", "vs_proto_decoder_push", "vs_proto_decoder_feed", "vs_proto_decode_frame",
    "vs_cobs_decode", "vs_crc32", "vs_crc32_update",
)  # fmt: skip
RX_SYMBOLS = {
    "stm32": ("USART1_IRQHandler", *_TRANSPORT),
    "rv32": ("trap_handler", "uart_isr", *_TRANSPORT),
}
#: The main loop's own pass (vs_node_run: poll, look for work, sleep; the uptime's 64-bit division). It runs
#: once per wake-up, and how many wake-ups a block of bytes takes follows the host (when QEMU's I/O thread
#: hands the UART the next byte relative to the guest's instructions), so it is counted apart.
LOOP_SYMBOLS = (
    "main", "vs_node_poll", "vs_node_has_work", "vs_platform_sleep_until_event", "vs_platform_clock_us",
    "vs_platform_watchdog_feed", "board_watchdog_feed", "__aeabi_uldivmod", "__udivdi3",
)  # fmt: skip
#: The UART receive interrupt handlers (a wake-up that runs one brought bytes from the host).
RX_ISR = {"stm32": ("USART1_IRQHandler",), "rv32": ("uart_isr",)}
#: Periodic timer interrupts. Without -icount QEMU's timers follow the host clock, and a traced run lasts far
#: longer than the signal it replays, so these are counted apart and scaled to the ticks a board takes per
#: second of signal (SysTick at 1 kHz; TIM2 / the CLINT tick at the block rate 12000 / 64).
TIMER_SYMBOLS = {
    "stm32": ("SysTick_Handler", "TIM2_IRQHandler"),
    "rv32": ("timer_isr",),
}
TICKS_PER_S = {"SysTick_Handler": 1000.0, "TIM2_IRQHandler": 12000.0 / 64, "timer_isr": 12000.0 / 64}


def sections(elf: Path, size_tool: str) -> dict[str, int]:
    out = subprocess.run([size_tool, "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines()[2:]:
        p = line.split()
        if len(p) == 3 and p[0].startswith("."):
            res[p[0]] = int(p[1])
    return res


def usage(elf: Path, target: str) -> tuple[int, int]:
    """(flash, RAM) bytes of an image."""
    if target == "stm32":
        s = sections(elf, "arm-none-eabi-size")
        flash = sum(
            s.get(k, 0) for k in (".isr_vector", ".text", ".ARM.exidx", ".vs_ident", ".vs_keys", ".data")
        )
        return flash, sum(s.get(k, 0) for k in (".data", ".bss", ".stack"))
    s = sections(elf, "riscv64-unknown-elf-size")
    flash = sum(
        v
        for k, v in s.items()
        if k in (".init", ".text", ".rodata", ".srodata", ".vs_ident", ".vs_keys", ".data")
    )
    flash += s.get(".sdata", 0)
    ram = sum(s.get(k, 0) for k in (".data", ".sdata", ".bss", ".sbss", ".tbss_space", ".stack"))
    return flash, ram


def symbol_ranges(elf: Path, nm: str, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """[start, end) of each function in ``names`` that the image has, in the order of ``names``."""
    out = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[3] in names:
            a = int(p[0], 16) & ~1
            found[p[3]] = (a, a + int(p[1], 16))
    return [found[n] for n in names if n in found]


@dataclass(frozen=True)
class Analysis:
    """Where analyse() (vs_node.c, inlined into drain_samples) starts and ends in an image: its first call
    (vs_trigger_copy_frame) and its last (vs_baseline_frame), and the function it is inlined into."""

    first: tuple[int, int]
    last: tuple[int, int]
    home: tuple[int, int]


def analysis_spans(elf: Path, nm: str) -> Analysis:
    """The [start, end) ranges of the three functions that delimit analyse() in ``elf`` (see Analysis)."""
    out = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    # GCC names the clone it specialises drain_samples.isra.0 (or similar): match the prefix.
    home = [
        p for p in map(str.split, out.splitlines()) if len(p) == 4 and p[3].split(".")[0] == "drain_samples"
    ]
    assert len(home) == 1, f"drain_samples (analyse's caller) not found once in {elf}: {home}"
    ends = symbol_ranges(elf, nm, ("vs_trigger_copy_frame", "vs_baseline_frame"))
    assert len(ends) == 2, f"vs_trigger_copy_frame / vs_baseline_frame not both in {elf}"
    a = int(home[0][0], 16) & ~1
    return Analysis(ends[0], ends[1], (a, a + int(home[0][1], 16)))


def trace_pcs(f: Iterable[bytes], dropped: list[int] | None = None) -> Iterator[tuple[int, bool]]:
    """(PC, bit 0 of the block's ``cs_base``) of each instruction a QEMU ``-singlestep -d exec,nochain`` log
    shows running.

    QEMU logs a block before it runs it, and a block can be left before its instruction runs and logged again:
    when the icount budget runs out at a timer deadline, when another thread asks the vCPU to stop (a byte
    arriving for the UART), and when a device access from a block not compiled for I/O is undone (QEMU then
    logs ``cpu_io_recompile: rewound execution of TB``). So the same PC on consecutive lines is one
    instruction (the firmware branches to itself only where it hangs after a fault). When an interrupt is taken at that point the handler
    runs between the two lines: TraceCounter deals with that case. ``dropped[0]`` counts the repeats left out.
    """
    pending: tuple[int, bool] | None = None
    for line in f:
        if not line.startswith(b"Trace"):
            continue
        i = line.find(b"/")
        if i < 0:
            continue
        pc = int(line[i + 1 : line.find(b"/", i + 1)], 16)
        if pending is not None:
            if pending[0] != pc:
                yield pending
            elif dropped is not None:
                dropped[0] += 1
        pending = (pc, int(line[i - 1 : i], 16) & 1 == 1)
    if pending is not None:
        yield pending


class TraceCounter:
    """Counts QEMU exec-trace lines from a FIFO: in total, in the ``rx`` functions, per timer handler
    (instructions and entries), and the instructions of each call of analyse() (``analysis``) in thread
    mode, i.e. with the exception handlers that preempted it left out.

    Handler mode: on the Cortex-M the trace's first field (the translation block's ``cs_base``, QEMU 7.2's
    TBFLAG_M32 bits) has bit 0 (HANDLER) set while an exception handler runs. On RV32 (no such flag in
    machine mode) a trap runs from ``trap_entry`` (mtvec, direct mode) to an ``mret`` (``trap_exit``).
    A block logged and left before it runs (trace_pcs) is logged again after the handler when an interrupt is
    taken at that point: the thread-mode PC before an exception that repeats right after it is counted once.
    """

    def __init__(
        self,
        fifo: Path,
        rx: list[tuple[int, int]],
        timers: dict[str, tuple[int, int]],
        wfi: frozenset[int] = frozenset(),
        rx_isr: list[tuple[int, int]] | None = None,
        loop: list[tuple[int, int]] | None = None,
        analysis: Analysis | None = None,
        trap_entry: int | None = None,
        trap_exit: frozenset[int] = frozenset(),
    ) -> None:
        self.total = 0
        self.rx = 0
        self.idle_wake = 0  # instructions of wake-ups that only a timer caused (see _run)
        self.idle_wakes = 0
        self.wakes = 0  # WFI instructions executed (sleeps)
        self.relogged = 0  # trace lines of blocks logged again before their instruction ran (trace_pcs)
        self._wfi = wfi
        self._rx_isr = rx_isr or []
        self._loop = loop or []
        self.loop = 0  # instructions of the main loop's passes (LOOP_SYMBOLS), idle wake-ups excluded
        self.timer_instr = dict.fromkeys(timers, 0)
        self.timer_entries = dict.fromkeys(timers, 0)
        self.frames: list[int] = []  # thread-mode instructions of each analyse() call, in order
        self.frame_isr: list[int] = []  # handler instructions that preempted each of them
        self.thread_pcs: dict[int, int] = {}  # thread-mode instructions per PC (for --profile)
        self._analysis = analysis
        self._trap_entry = trap_entry
        self._trap_exit = trap_exit
        self._rx = rx
        self._timers = timers
        self._fifo = fifo
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        spans = [r for r in self._rx] + list(self._timers.values()) + list(self._loop)
        lo = min((a for a, _ in spans), default=0)
        hi = max((b for _, b in spans), default=0)
        # A wake-up segment runs from one WFI to the next. When only a timer interrupt woke the core (no
        # UART receive interrupt in the segment), the main loop's pass that follows (poll, find
        # nothing, sleep again; the periodic STATUS) is paced by the virtual clock, whose idle periods follow
        # the host's speed even under -icount: counted apart (idle_wake) like the timer handlers.
        seg = seg_rx_instr = seg_loop = 0
        seg_rx = seg_timer = False
        loop = self._loop
        wfi = self._wfi
        rx_isr = self._rx_isr
        an = self._analysis
        first_pc = an.first[0] if an else -1
        last_lo, last_hi = an.last if an else (0, 0)
        home_lo, home_hi = an.home if an else (0, 0)
        in_an = saw_last = False
        cur = cur_isr = 0
        trap_entry, trap_exit = self._trap_entry, self._trap_exit
        in_trap = False
        was_handler = False
        last_thread = -1  # PC of the last thread-mode line before the current exception
        thread_pcs = self.thread_pcs
        relogged = [0]
        with open(self._fifo, "rb", buffering=1 << 20) as f:
            for pc, flag in trace_pcs(f, relogged):
                if trap_entry is None:
                    handler = flag
                else:
                    if pc == trap_entry:
                        in_trap = True
                    handler = in_trap
                    if pc in trap_exit:
                        in_trap = False
                if handler:
                    if in_an:
                        cur_isr += 1
                else:
                    if was_handler and pc == last_thread:
                        # logged before the exception but not run then: counted once (class docstring)
                        was_handler = False
                        relogged[0] += 1
                        continue
                    last_thread = pc
                    thread_pcs[pc] = thread_pcs.get(pc, 0) + 1
                    if pc == first_pc:
                        in_an, saw_last, cur, cur_isr = True, False, 0, 0
                    if in_an:
                        if saw_last and home_lo <= pc < home_hi:
                            in_an = False
                            self.frames.append(cur)
                            self.frame_isr.append(cur_isr)
                        else:
                            cur += 1
                            saw_last = saw_last or last_lo <= pc < last_hi
                was_handler = handler
                self.total += 1
                if pc in wfi:
                    self.wakes += 1
                    if seg_timer and not seg_rx:
                        self.idle_wake += seg + 1
                        self.idle_wakes += 1
                        self.rx -= seg_rx_instr  # the poll's look at an empty receive ring
                    else:
                        self.loop += seg_loop
                    seg = seg_rx_instr = seg_loop = 0
                    seg_rx = seg_timer = False
                    continue
                if not lo <= pc < hi:
                    seg += 1
                    continue
                if any(a <= pc < b for a, b in self._rx):
                    self.rx += 1
                    seg_rx_instr += 1
                    if not seg_rx and any(a <= pc < b for a, b in rx_isr):
                        seg_rx = True
                    continue
                for name, (a, b) in self._timers.items():
                    if a <= pc < b:
                        self.timer_instr[name] += 1
                        self.timer_entries[name] += pc == a
                        seg_timer = True
                        break
                else:
                    seg += 1
                    if any(a <= pc < b for a, b in loop):
                        seg_loop += 1

        self.relogged = relogged[0]

    def join(self) -> None:
        self._t.join(60)


@dataclass
class Run:
    total: int  # instructions, timer interrupts excluded
    transport: int  # of which replay transport
    timer_per_s: (
        float  # timer interrupt instructions per second of signal on a board (scaled, see TIMER_SYMBOLS)
    )
    scores: int
    idle_wakes: int  # timer-only wake-ups (excluded from total, see TraceCounter)
    loop: int  # of total, the main loop's passes (LOOP_SYMBOLS)
    wakes: int = 0  # WFI instructions executed (times the core went to sleep)
    relogged: int = 0  # trace lines left out: a block logged again before its instruction ran (trace_pcs)
    #: thread-mode instructions of each analyse() call, and the handler instructions that preempted each
    frames: list[int] = field(default_factory=list, repr=False)
    frame_isr: list[int] = field(default_factory=list, repr=False)
    thread_pcs: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def work(self) -> int:
        """Instructions that do not depend on the host's timing: total without transport and loop passes."""
        return self.total - self.transport - self.loop


def function_totals(elf: Path, nm: str, *pcs: dict[int, int]) -> dict[str, tuple[int, ...]]:
    """Per function of ``elf``: the instructions of each PC histogram in ``pcs`` that fall inside it."""
    out = subprocess.run([nm, "-S", "-n", str(elf)], capture_output=True, text=True, check=True).stdout
    funcs = [(int(p[0], 16) & ~1, int(p[1], 16), p[3]) for p in (line.split() for line in out.splitlines())
             if len(p) == 4 and p[2] in "tTwW"]  # fmt: skip
    starts = [f[0] for f in funcs]
    res: dict[str, list[int]] = {}
    for k, hist in enumerate(pcs):
        for pc, n in hist.items():
            j = bisect.bisect_right(starts, pc) - 1
            fn = funcs[j][2] if j >= 0 and pc < funcs[j][0] + funcs[j][1] else f"?{pc:#x}"
            res.setdefault(fn, [0] * len(pcs))[k] += n
    return {fn: tuple(v) for fn, v in res.items()}


def instruction_addresses(elf: Path, objdump: str, mnemonic: str) -> frozenset[int]:
    """Addresses of the image's ``mnemonic`` instructions (``wfi``: where the core goes to sleep)."""
    out = subprocess.run([objdump, "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    return frozenset(
        int(line.split(":")[0], 16)
        for line in out.splitlines()
        if f"\t{mnemonic}" in line and ":" in line and line.split("\t")[2:3] == [mnemonic]
    )


#: Virtual time driven by the instruction count (1 ns per instruction, no alignment to the host clock), so the
#: timers tick at the same instructions whatever the host load while the core runs. While it sleeps waiting for
#: the host's next byte, virtual time still follows the host clock (sleep=on; sleep=off would warp to each
#: timer deadline and run the idle tick loop as fast as the host allows): those timer-only wake-ups are
#: excluded from the counts (TraceCounter).
ICOUNT = ["-icount", "shift=0,align=off,sleep=on"]


def run_once(elf: Path, t: qemu.Target, ident: qemu.NodeIdent, x: np.ndarray | None, work: Path) -> Run:
    """One traced run (see the module docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    img = qemu.provision(elf, work / "node.elf", ident, target=t)
    fifo = work / "trace.fifo"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    nm = f"{t.toolchain}nm"
    timers = dict(zip(TIMER_SYMBOLS[t.name], symbol_ranges(img, nm, TIMER_SYMBOLS[t.name]), strict=True))
    # (every timer symbol exists in its image: zip(strict=True) fails loudly otherwise)
    objdump = f"{t.toolchain}objdump"
    wfi = instruction_addresses(img, objdump, "wfi")
    assert wfi, f"no wfi instruction in {img}"
    rx_isr = symbol_ranges(img, nm, RX_ISR[t.name])
    assert rx_isr, f"no UART receive interrupt handler in {img}"
    # The Cortex-M trace flags handler mode itself; RV32 traps run from trap_handler (mtvec) to an mret.
    trap: tuple[int | None, frozenset[int]] = (None, frozenset())
    if t.name == "rv32":
        trap = (symbol_ranges(img, nm, ("trap_handler",))[0][0], instruction_addresses(img, objdump, "mret"))
        assert trap[1], f"no mret in {img}"
    counter = TraceCounter(
        fifo,
        symbol_ranges(img, nm, RX_SYMBOLS[t.name]),
        timers,
        wfi,
        rx_isr,
        symbol_ranges(img, nm, LOOP_SYMBOLS),
        analysis_spans(img, nm),
        *trap,
    )
    node = qemu.QemuNode(
        img,
        target=t,
        workdir=work,
        extra_args=[*ICOUNT, "-singlestep", "-d", "exec,nochain", "-D", str(fifo)],
    )
    with node:
        assert node.wait_for(lambda fr: len(fr) > 0, 120), "no HELLO"
        rp = qemu.Replayer(node, x if x is not None else np.zeros(0, np.float32), sample_rate=12000.0,
                           frame_length=1024, hop_length=1024, ack_timeout=600)  # fmt: skip
        if x is not None:
            rp.run()
        rp.barrier(600)
        scores = sum(isinstance(f.message, vp.Score) for f in node.frames)
    counter.join()
    per_tick = {k: counter.timer_instr[k] / max(1, counter.timer_entries[k]) for k in timers}
    timer_per_s = sum(per_tick[k] * TICKS_PER_S[k] for k in timers)
    total = counter.total - sum(counter.timer_instr.values()) - counter.idle_wake
    return Run(total, counter.rx, timer_per_s, scores, counter.idle_wakes, counter.loop, counter.wakes,
               counter.relogged, counter.frames, counter.frame_isr, counter.thread_pcs)  # fmt: skip


def energy_lines(
    t_frame: float, duty: dict[str, tuple[float, float]], run_ma: float | None, sleep_ma: float | None
) -> list[str]:
    """Energy per analysed frame and average power at 3.3 V for the given currents, or, with neither given,
    for the default (the node's estimate) and the DS8626 bounds (all peripherals disabled / enabled).

    ``duty`` maps "idle" / "busy" to the fraction of time awake (host-independent part, and with the replay
    transport and main-loop passes included)."""
    if run_ma is not None or sleep_ma is not None:
        cases = [("given", DEFAULT_RUN_MA if run_ma is None else run_ma,
                  DEFAULT_SLEEP_MA if sleep_ma is None else sleep_ma)]  # fmt: skip
    else:
        cases = [("node estimate (default)", DEFAULT_RUN_MA, DEFAULT_SLEEP_MA)]
        cases += [(k, DS8626_RUN_MA[k], DS8626_SLEEP_MA[k]) for k in DS8626_RUN_MA]
    out = []
    for label, i_run, i_sleep in cases:
        e = t_frame * i_run * 1e-3 * VDD
        above = t_frame * (i_run - i_sleep) * 1e-3 * VDD
        powers = "; ".join(
            f"trigger {k} {VDD * (i_run * d + i_sleep * (1 - d)):.1f} mW "
            f"({VDD * (i_run * d_all + i_sleep * (1 - d_all)):.1f} with the replay transport)"
            for k, (d, d_all) in duty.items()
        )
        out.append(f"{label}, I_run {i_run:.1f} mA, I_sleep {i_sleep:.1f} mA: energy per analysed frame "
                   f"{e * 1e6:.1f} uJ ({above * 1e6:.1f} uJ above sleeping); average power at 12 kHz: {powers}")  # fmt: skip
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--bundle", type=Path, default=None, help="model bundle (default: the test suite's demo bundle)"
    )
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--targets", default="stm32,rv32")
    ap.add_argument("--sizes-only", action="store_true", help="print the sizes and stop (no QEMU runs)")
    ap.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="print the N functions whose thread-mode instructions differ most between the busy and idle runs",
    )  # fmt: skip
    ap.add_argument(
        "--run-ma", type=float, default=None,
        help=f"Run-mode supply current at 168 MHz (mA; default {DEFAULT_RUN_MA:.1f}: DS8626 Rev 12 Table 20, "
             f"peripherals disabled, 40 mA + the node's peripheral clocks from Table 28, {NODE_PERIPH_MA:.2f} mA)",
    )  # fmt: skip
    ap.add_argument(
        "--sleep-ma", type=float, default=None,
        help=f"Sleep-mode supply current at 168 MHz (mA; default {DEFAULT_SLEEP_MA:.1f}: DS8626 Rev 12 Table 22, "
             f"peripherals disabled, 12 mA + the same {NODE_PERIPH_MA:.2f} mA)",
    )  # fmt: skip
    a = ap.parse_args()
    if a.bundle is None:
        from tests.support.dashboard import demo_bundle_dir

        a.bundle = demo_bundle_dir()
    print(f"bundle: {a.bundle}")

    print("\n== sizes (flash / RAM, bytes; STM32 budget 65536 / 32768) ==")
    images = {}
    for name, t, hw in (("stm32 (QEMU)", qemu.STM32, False), ("stm32 (board, HW=1)", qemu.STM32, True),
                        ("rv32 (QEMU virt)", qemu.RV32, False)):  # fmt: skip
        try:  # without the flash store and keys (MODEL_UPDATE=0); vs_node still links the update code
            plain = usage(qemu.build_image(t, bundle=a.bundle, hw=hw, model_update=False), t.name)
            print(f"{name + ', no updates':36s} flash {plain[0]:6d}  RAM {plain[1]:6d}")
        except qemu.FirmwareError as exc:
            print(f"{name + ', no updates':36s} does not link: {str(exc).splitlines()[-3:]}")
        try:
            elf = qemu.build_image(t, bundle=a.bundle, hw=hw)
        except qemu.FirmwareError as exc:  # over budget: the linker says by how much
            print(f"{name + ', model updates':36s} does not link: {str(exc).splitlines()[-3:]}")
            continue
        if not hw:
            images[t.name] = elf
        flash, ram = usage(elf, t.name)
        print(f"{name + ', model updates':36s} flash {flash:6d}  RAM {ram:6d}  ({elf.parent.name})")
        mods = cqemu.map_sizes(elf.with_suffix(".map"))
        top = sorted(mods.items(), key=lambda kv: -(kv[1].text + kv[1].data + kv[1].bss))[:6]
        print("    largest: " + ", ".join(f"{k} {v.text}+{v.data + v.bss}" for k, v in top))

    if a.sizes_only:
        return 0
    from vibsentry.dsp.io import read_recording

    x, _ = qemu.quantize_int16(
        read_recording(ROOT / "sample_data/synthetic/m1_normal_c.wav").data[: a.frames * 1024, 0]
    )
    seconds = len(x) / 12000.0
    print(f"\n== instructions on QEMU ({a.frames} frames = {seconds:.3f} s of signal at 12 kHz) ==")
    for name in a.targets.split(","):
        t = qemu.TARGETS[name]
        with tempfile.TemporaryDirectory() as tmp:
            base = run_once(images[name], t, qemu.NodeIdent(9), None, Path(tmp) / "a")
            idle = run_once(images[name], t, qemu.NodeIdent(9, trigger_rms_g=1000.0, heartbeat_frames=0), x,
                            Path(tmp) / "b")  # fmt: skip
            busy = run_once(images[name], t, qemu.NodeIdent(9), x, Path(tmp) / "c")
        frames = busy.frames
        assert len(frames) == busy.scores, f"{len(frames)} analyse() calls traced, {busy.scores} SCORE frames"
        per_frame = sum(frames) / max(1, len(frames))
        print(f"[{name}] runs: boot {base}\n    idle {idle}\n    busy {busy}")
        print(f"[{name}] instructions per analysed frame: {per_frame:,.1f} (analyse() in thread mode, interrupts "
              f"excluded: frame copy, features, INT8 model, alarm, SCORE; mean of {len(frames)} frames, "
              f"{min(frames, default=0):,}-{max(frames, default=0):,}; interrupts during it, host-timed: "
              f"{sum(busy.frame_isr) / max(1, len(frames)):,.0f} per frame)")  # fmt: skip
        diff = (busy.work - idle.work) / max(1, busy.scores)
        print(f"[{name}] busy minus idle run per analysed frame: {diff:,.0f} (transport and loop passes excluded; "
              f"with them {(busy.total - idle.total) / max(1, busy.scores):,.0f}; follows the host: "
              f"{busy.wakes - idle.wakes:+,} sleeps, see docs/firmware.md)")  # fmt: skip
        if a.profile:
            prof = function_totals(images[name], f"{t.toolchain}nm", busy.thread_pcs, idle.thread_pcs)
            print(f"[{name}] thread-mode instructions per function, busy - idle run (sleeps {busy.wakes:,} / "
                  f"{idle.wakes:,}):")  # fmt: skip
            for fn, (b, i) in sorted(prof.items(), key=lambda kv: -abs(kv[1][0] - kv[1][1]))[: a.profile]:
                print(f"    {fn:32s} {b - i:+12,} ({b:,} - {i:,})")
        for label, run in (("idle", idle), ("busy", busy)):
            awake = (run.total - base.total) / seconds + run.timer_per_s
            node_only = awake - (run.transport - base.transport) / seconds
            asleep = 1 - awake / t.core_hz
            asleep_node = 1 - node_only / t.core_hz
            print(f"[{name}] trigger {label}: {awake / 1e6:.2f} M instr/s awake (replay transport included) -> "
                  f"asleep {asleep:.1%} at {t.core_hz / 1e6:.0f} MHz; node alone (without the replay transport) "
                  f"{node_only / 1e6:.2f} M instr/s -> asleep {asleep_node:.1%}")  # fmt: skip
            work = (run.work - base.work) / seconds + run.timer_per_s
            print(f"[{name}] trigger {label}: host-independent part (no transport, no main-loop passes) "
                  f"{work / 1e6:.3f} M instr/s -> asleep {1 - work / t.core_hz:.2%}")  # fmt: skip
        if name == "stm32":
            t_frame = per_frame / t.core_hz
            print(f"[stm32] awake time per analysed frame at 168 MHz, CPI 1: {t_frame * 1e6:.0f} us "
                  f"= {t_frame * VDD * 1e3:.2f} uJ per mA of Run-mode current")  # fmt: skip
            duty = {label: (((run.work - base.work) / seconds + run.timer_per_s) / t.core_hz,
                            ((run.total - base.total) / seconds + run.timer_per_s) / t.core_hz)
                    for label, run in (("idle", idle), ("busy", busy))}  # fmt: skip
            for line in energy_lines(t_frame, duty, a.run_ma, a.sleep_ma):
                print(f"[stm32] {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
