"""A bleak backend on the bumble Bluetooth stack: ``BumbleScanner`` and ``BumbleClient``.

bleak 3.x accepts any subclass of ``BaseBleakScanner`` / ``BaseBleakClient`` through its public
``backend=`` argument (``docs/ble.md`` §1.2), so product code keeps using only the public
bleak API (``BleakScanner``, ``BleakClient``, ``start_notify``, ``write_gatt_char``,
``bleak_retry_connector.establish_connection``) and this module decides where the radio is:

* an in-process bumble ``LocalLink`` shared with emulated sensors (:mod:`imugait.ble.emulator`),
  which runs the real HCI/LL/L2CAP/ATT/GATT code of bumble on both sides (``docs/ble.md``
  §1.4-1.5) - the ``sim`` backend used by the tests;
* a bumble *host* driving a dedicated controller through a bumble transport moniker
  (``usb:0``, ``serial:/dev/ttyACM0,1000000,rtscts``, ...), bypassing BlueZ - the
  ``bumble:<moniker>`` backend. This path cannot be exercised without hardware.

One :class:`BumbleAdapter` (one bumble ``Device`` acting as the central) is shared by every
scanner and client of a backend; :func:`bind_backend` makes scanner/client classes bound to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from bleak import BleakScanner
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import core as bumble_core
from bumble.att import ATT_Error
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address

#: ATT MTU the central asks for after connecting (the peripheral's value bounds the result).
DEFAULT_REQUESTED_MTU = 247

_SERVICE_UUID_AD_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


def bleak_uuid(u: UUID) -> str:
    """A bumble UUID as bleak spells UUIDs: 128-bit, lower case."""
    return normalize_uuid_str(u.to_hex_str("-"))


class BumbleAdapter:
    """The central side of a bumble backend: one powered-on bumble ``Device``.

    Parameters
    ----------
    open_device
        Coroutine factory that builds and powers on the central ``Device``; called once, on
        first use, inside the running event loop.
    close_device
        Optional coroutine to release the transport on :meth:`close`.
    requested_mtu
        ATT MTU requested after each connection.
    """

    def __init__(
        self,
        *,
        open_device: Callable[[], Awaitable[Device]],
        close_device: Callable[[], Awaitable[None]] | None = None,
        requested_mtu: int = DEFAULT_REQUESTED_MTU,
    ) -> None:
        if not 23 <= requested_mtu <= 517:
            raise ValueError(f"requested_mtu must be in [23, 517], got {requested_mtu}")
        self._open_device = open_device
        self._close_device = close_device
        self.requested_mtu = requested_mtu
        self._device: Device | None = None
        self._lock: asyncio.Lock | None = None
        self._connect_lock: asyncio.Lock | None = None

    async def device(self) -> Device:
        """The powered-on central device (created on first call)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._device is None:
                self._device = await self._open_device()
        return self._device

    @property
    def connect_lock(self) -> asyncio.Lock:
        """Serialises LE connection set-up (a controller has one pending connection at most)."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        return self._connect_lock

    async def close(self) -> None:
        """Power off and release the transport. Idempotent."""
        dev, self._device = self._device, None
        if dev is not None:
            with contextlib.suppress(Exception):
                await dev.power_off()
        if self._close_device is not None:
            close, self._close_device = self._close_device, None
            await close()


class BumbleScanner(BaseBleakScanner):
    """``BaseBleakScanner`` on a :class:`BumbleAdapter` (use the class from :func:`bind_backend`)."""

    adapter: BumbleAdapter | None = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._device: Device | None = None

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = adv.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        uuids: list[str] = []
        for ad_type in _SERVICE_UUID_AD_TYPES:
            found = data.get(ad_type)
            if isinstance(found, list):
                uuids.extend(bleak_uuid(u) for u in found)
        if not self.is_allowed_uuid(uuids):
            return
        manufacturer: dict[int, bytes] = {}
        for item in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
            if isinstance(item, tuple) and len(item) == 2:
                manufacturer[int(item[0])] = bytes(item[1])
        tx_power = None if adv.tx_power == Advertisement.TX_POWER_NOT_AVAILABLE else adv.tx_power
        local_name = name if isinstance(name, str) else None
        ad = AdvertisementData(
            local_name=local_name,
            manufacturer_data=manufacturer,
            service_data={},
            service_uuids=uuids,
            tx_power=tx_power,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        key = str(adv.address)
        device = self.create_or_update_device(key, key, local_name, adv.address, ad)
        self.call_detection_callbacks(device, ad)

    async def start(self) -> None:
        if self.adapter is None:
            raise BleakError("BumbleScanner is not bound to an adapter (use bind_backend)")
        self.seen_devices = {}
        self._device = await self.adapter.device()
        self._device.on("advertisement", self._on_advertisement)
        await self._device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        dev, self._device = self._device, None
        if dev is not None:
            dev.remove_listener("advertisement", self._on_advertisement)
            with contextlib.suppress(Exception):
                await dev.stop_scanning()


def _wrap_error(exc: Exception) -> Exception:
    """bumble exceptions as the exceptions bleak code expects."""
    if isinstance(exc, ATT_Error):
        return BleakGATTProtocolError(exc.error_code)
    if isinstance(exc, bumble_core.TimeoutError | asyncio.TimeoutError):
        return TimeoutError(str(exc) or "bumble operation timed out")
    return BleakError(f"bumble: {type(exc).__name__}: {exc}")


class BumbleClient(BaseBleakClient):
    """``BaseBleakClient`` on a :class:`BumbleAdapter` (use the class from :func:`bind_backend`).

    Unknown keyword arguments (``pair``, ``_is_retry_client``, ``bluez``, ``winrt``,
    ``dangerous_use_bleak_cache``...) from bleak or bleak-retry-connector are accepted and
    ignored.
    """

    adapter: BumbleAdapter | None = None
    scanner_class: type[BumbleScanner] | None = None

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=float(kwargs.get("timeout", 10.0)),
        )
        self._ble_device = (
            address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._name = self._ble_device.name if self._ble_device and self._ble_device.name else ""
        self._conn: Connection | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        if self._conn is None:
            raise BleakError("not connected")
        return int(self._conn.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def _peer_address(self, timeout_s: float) -> Address:
        if self._ble_device is not None and isinstance(self._ble_device.details, Address):
            return self._ble_device.details
        if self.scanner_class is None:
            raise BleakError("BumbleClient is not bound to a scanner (use bind_backend)")
        found = await BleakScanner.find_device_by_address(
            self.address, timeout=timeout_s, backend=self.scanner_class
        )
        if found is None or not isinstance(found.details, Address):
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        self._ble_device = found
        self._name = found.name or self._name
        return found.details

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self.adapter is None:
            raise BleakError("BumbleClient is not bound to an adapter (use bind_backend)")
        if self._conn is not None:
            return
        timeout_s = float(kwargs.get("timeout", self._timeout))
        address = await self._peer_address(timeout_s)
        adapter = self.adapter
        device = await adapter.device()
        async with adapter.connect_lock:
            try:
                conn = await device.connect(address, timeout=timeout_s)
            except Exception as exc:
                raise _wrap_error(exc) from exc
        try:
            peer = Peer(conn)
            await peer.request_mtu(adapter.requested_mtu)
            await peer.discover_all()  # type: ignore[no-untyped-call]
            self.services = self._build_services(peer)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            raise _wrap_error(exc) from exc
        self._conn = conn
        conn.on("disconnection", self._on_disconnection)

    def _build_services(self, peer: Peer) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()

        def max_write() -> int:
            return (self._conn.att_mtu - 3) if self._conn is not None else 20

        for s in peer.services:
            service = BleakGATTService(s, s.handle, bleak_uuid(s.uuid))
            coll.add_service(service)
            for c in s.characteristics:
                props = list(gatt_char_props_to_strs(int(c.properties)))
                char = BleakGATTCharacteristic(
                    c, c.handle, bleak_uuid(c.uuid), props, max_write, service
                )
                coll.add_characteristic(char)
                for d in c.descriptors:
                    coll.add_descriptor(BleakGATTDescriptor(d, d.handle, bleak_uuid(d.type), char))
        return coll

    def _on_disconnection(self, reason: int) -> None:
        self._conn = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        conn = self._conn
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.disconnect()
        # the disconnection event clears the state; make sure it is cleared even if it was lost
        self._conn = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported by the bumble backend (sensors need none)")

    async def unpair(self) -> None:
        raise BleakError("pairing is not supported by the bumble backend (sensors need none)")

    def _require_connection(self) -> None:
        if self._conn is None:
            raise BleakError("not connected")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connection()
        try:
            return bytearray(await characteristic.obj.read_value())
        except Exception as exc:
            raise _wrap_error(exc) from exc

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connection()
        try:
            return bytearray(await descriptor.obj.read_value())
        except Exception as exc:
            raise _wrap_error(exc) from exc

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        self._require_connection()
        try:
            await characteristic.obj.write_value(bytes(data), with_response=response)
        except Exception as exc:
            raise _wrap_error(exc) from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        self._require_connection()
        try:
            await descriptor.obj.write_value(bytes(data), with_response=True)
        except Exception as exc:
            raise _wrap_error(exc) from exc

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_connection()

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = on_value
        try:
            await characteristic.obj.subscribe(on_value, prefer_notify=True)
        except Exception as exc:
            self._subscribers.pop(characteristic.handle, None)
            raise _wrap_error(exc) from exc

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        sub = self._subscribers.pop(characteristic.handle, None)
        if sub is None or self._conn is None:
            return
        try:
            await characteristic.obj.unsubscribe(sub)
        except Exception as exc:
            raise _wrap_error(exc) from exc


def bind_backend(
    adapter: BumbleAdapter,
) -> tuple[type[BumbleScanner], type[BumbleClient]]:
    """Scanner and client classes bound to ``adapter``, to pass as bleak's ``backend=``.

    ``backend_id`` of a client is the class name, ``"BumbleClient"``.
    """

    class _Scanner(BumbleScanner):
        pass

    class _Client(BumbleClient):
        pass

    _Scanner.adapter = adapter
    _Client.adapter = adapter
    _Client.scanner_class = _Scanner
    _Scanner.__name__ = _Scanner.__qualname__ = "BumbleScanner"
    _Client.__name__ = _Client.__qualname__ = "BumbleClient"
    return _Scanner, _Client
