"""Emulated sensor models: one small class per BLE protocol.

A model is what makes an emulated peripheral a *particular* sensor: its GATT table, how it
answers command writes and how it packs samples into notifications. Everything else (the
bumble device, advertising, real-time pacing, fault injection, the battery service) is generic
and lives in :mod:`imugait.ble.emulator`, which talks to a model through
:class:`SensorModel` and gives it a :class:`ModelHost` to start/stop the stream.

:class:`ReferenceModel` implements ``imugait-ref-1`` (``firmware_notes/reference_protocol.md``)
with the protocol module's own encoder and state machine (``encode_stream``,
``apply_command``, ``encode_info``), so the emulator is the specification.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, replace
from typing import ClassVar, Protocol

import numpy as np
from bumble.att import ATT_Error
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from imugait.ingest.protocols import reference as ref
from imugait.sim import SimSensor
from imugait.types import F64


@dataclass(frozen=True)
class SampleSource:
    """What a virtual walker's sensor measures, on its own clock, forever.

    Sample ``k`` is taken at sensor time ``sensor_t_start_s + k / fs_hz`` and at true time
    ``(t_sensor - clock_offset_s) / (1 + clock_drift_ppm * 1e-6)`` (the simulator's clock
    model, ``imugait.sim`` conventions); true time 0 is when the emulator is switched on.
    The recorded motion repeats after ``len(acc_m_s2)`` samples, the clock does not.
    """

    fs_hz: float
    sensor_t_start_s: float
    clock_offset_s: float
    clock_drift_ppm: float
    acc_m_s2: F64
    gyr_rad_s: F64

    @classmethod
    def from_sim(cls, sensor: SimSensor) -> SampleSource:
        """The samples and clock of one simulated sensor."""
        e = sensor.errors
        return cls(
            fs_hz=float(sensor.fs_hz),
            sensor_t_start_s=float(e.sensor_t_start_s),
            clock_offset_s=float(e.clock_offset_s),
            clock_drift_ppm=float(e.clock_drift_ppm),
            acc_m_s2=np.asarray(sensor.acc_m_s2, dtype=np.float64),
            gyr_rad_s=np.asarray(sensor.gyr_rad_s, dtype=np.float64),
        )

    def sensor_t_s(self, k: int) -> float:
        """Sensor-clock time of sample ``k`` (s)."""
        return self.sensor_t_start_s + k / self.fs_hz

    def true_t_s(self, k: int) -> float:
        """True time of sample ``k`` (s since the emulator started)."""
        return (self.sensor_t_s(k) - self.clock_offset_s) / (1.0 + self.clock_drift_ppm * 1e-6)

    def first_index_after(self, true_t_s: float) -> int:
        """Index of the first sample taken at or after true time ``true_t_s``."""
        t_sensor = self.clock_offset_s + (1.0 + self.clock_drift_ppm * 1e-6) * true_t_s
        return max(0, math.ceil((t_sensor - self.sensor_t_start_s) * self.fs_hz - 1e-9))

    def samples(self, k0: int, n: int) -> tuple[F64, F64]:
        """Samples ``k0 .. k0+n-1`` (the recorded motion, repeated)."""
        idx = (k0 + np.arange(n)) % len(self.acc_m_s2)
        return self.acc_m_s2[idx], self.gyr_rad_s[idx]


class ModelHost(Protocol):
    """What the emulated peripheral offers its model."""

    @property
    def att_mtu(self) -> int:
        """ATT MTU of the current connection (23 when not connected)."""
        ...

    @property
    def ignore_mtu(self) -> bool:
        """Fault: the firmware does not clamp its frame size to the MTU."""
        ...

    def start_stream(self) -> None:
        """Begin producing frames from the next sample on."""
        ...

    def stop_stream(self) -> None:
        """Stop producing frames."""
        ...

    def notify_soon(self, characteristic: Characteristic[bytes], payload: bytes) -> None:
        """Send a notification from a write handler (e.g. a command response)."""
        ...


class SensorModel(abc.ABC):
    """One sensor protocol as seen from the peripheral side.

    Parameters
    ----------
    source
        The samples the sensor measures.
    host
        The emulated peripheral (stream control, MTU).
    """

    protocol: ClassVar[str]

    def __init__(self, *, source: SampleSource, host: ModelHost) -> None:
        self.source = source
        self.host = host

    @property
    @abc.abstractmethod
    def advertised_service_uuid(self) -> str:
        """128-bit service UUID put in the advertising data."""

    @abc.abstractmethod
    def services(self) -> list[Service]:
        """The protocol's GATT services."""

    @abc.abstractmethod
    def data_characteristic(self) -> Characteristic[bytes]:
        """The characteristic frames are notified on."""

    @abc.abstractmethod
    def on_connection(self) -> None:
        """A central connected: reset per-connection state (not streaming)."""

    def on_mtu(self, att_mtu: int) -> None:  # noqa: B027 - optional hook
        """The ATT MTU of the connection changed."""

    def on_disconnection(self) -> None:  # noqa: B027 - optional hook
        """The connection ended."""

    @abc.abstractmethod
    def samples_per_frame(self) -> int:
        """Samples the next frame will carry."""

    @abc.abstractmethod
    def encode_frame(self, k0: int, n: int) -> list[bytes]:
        """Assemble the frame of samples ``k0 .. k0+n-1`` (advances any frame counter): the
        notifications of the data characteristic that carry it, in sending order."""


class ReferenceModel(SensorModel):
    """Emulated ``imugait-ref-1`` sensor (spec: ``firmware_notes/reference_protocol.md``).

    The output data rate is the sample source's rate; a SET_ODR to any other rate is refused
    with BAD_VALUE, which the spec allows for a rate the sensor cannot produce (§5.2).
    """

    protocol: ClassVar[str] = ref.PROTOCOL_NAME
    firmware_version: ClassVar[str] = "emu-1.0"
    model_name: ClassVar[str] = "imugait-emulator"

    def __init__(self, *, source: SampleSource, host: ModelHost) -> None:
        super().__init__(source=source, host=host)
        self.config = ref.ReferenceConfig(odr_hz=round(source.fs_hz * 1000.0) / 1000.0)
        self.streaming = False
        self.seq = 0
        self._data = Characteristic(
            ref.DATA_UUID, Characteristic.Properties.NOTIFY, Characteristic.Permissions(0), b""
        )
        control: Characteristic[bytes] = Characteristic(
            ref.CONTROL_UUID,
            Characteristic.Properties.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_control),
        )
        info: Characteristic[bytes] = Characteristic(
            ref.INFO_UUID,
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=self._on_info),
        )
        self._service = Service(ref.SERVICE_UUID, [self._data, control, info])

    @property
    def advertised_service_uuid(self) -> str:
        return ref.SERVICE_UUID

    def services(self) -> list[Service]:
        return [self._service]

    def data_characteristic(self) -> Characteristic[bytes]:
        return self._data

    def on_connection(self) -> None:
        self.streaming = False

    def on_mtu(self, att_mtu: int) -> None:
        limit = ref.max_samples_per_frame(att_mtu)
        if self.config.samples_per_frame > limit and not self.host.ignore_mtu:
            self.config = replace(self.config, samples_per_frame=limit)

    def on_disconnection(self) -> None:
        if self.streaming:
            self.streaming = False
            self.host.stop_stream()

    def _on_control(self, connection: Connection, value: bytes) -> None:
        try:
            cmd = ref.decode_command(value)
            if isinstance(cmd, ref.SetOdr) and cmd.odr_hz != self.config.odr_hz:
                raise ref.CommandError(
                    ref.ControlStatus.BAD_VALUE, f"this sensor runs at {self.config.odr_hz} Hz only"
                )
            mtu = 517 if self.host.ignore_mtu else self.host.att_mtu
            config, streaming = ref.apply_command(self.config, self.streaming, cmd, att_mtu=mtu)
        except ref.CommandError as exc:
            raise ATT_Error(int(exc.status), message=str(exc)) from None
        was_streaming, self.config, self.streaming = self.streaming, config, streaming
        if streaming and not was_streaming:
            self.seq = 0
            self.host.start_stream()
        elif was_streaming and not streaming:
            self.host.stop_stream()

    def _on_info(self, connection: Connection) -> bytes:
        info = ref.SensorInfo(
            firmware_version=self.firmware_version,
            model=self.model_name,
            config=self.config,
            streaming=self.streaming,
        )
        return ref.encode_info(info)

    def samples_per_frame(self) -> int:
        return self.config.samples_per_frame

    def encode_frame(self, k0: int, n: int) -> list[bytes]:
        acc, gyr = self.source.samples(k0, n)
        t0_us = round(self.source.sensor_t_s(k0) * 1e6) % (1 << 32)
        (frame,) = ref.encode_stream(acc, gyr, self.config, first_seq=self.seq, t_first_us=t0_us)
        self.seq = (self.seq + 1) % ref.SEQ_MODULO
        return [frame]


#: Emulated sensor models by protocol name.
MODELS: dict[str, type[SensorModel]] = {ReferenceModel.protocol: ReferenceModel}
