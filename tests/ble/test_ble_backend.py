"""The bumble bleak backend and the emulated sensors, driven through bleak's public API."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakGATTProtocolError
from bleak_retry_connector import establish_connection

from imugait.ble import SensorFaults, make_backend, scan_sensors, sim_backend
from imugait.ble.backends import BumbleHostBackend, SimBackend
from imugait.ble.drivers import ReferenceDriver, read_battery_pct
from imugait.errors import ConfigError, DeviceError
from imugait.ingest.protocols import reference as ref

from ._sim import walk


def _connected(client: BleakClient) -> bool:
    return client.is_connected


async def _find(be: SimBackend, name: str) -> BLEDevice:
    dev = await BleakScanner.find_device_by_name(name, timeout=3.0, backend=be.scanner)
    assert dev is not None, name
    return dev


def test_scan_sees_sensors_and_distractor_and_scan_sensors_filters() -> None:
    async def main() -> None:
        async with sim_backend(simulation=walk(), n_sensors=3, distractors=2) as be:
            seen: dict[str, AdvertisementData] = {}

            def cb(d: BLEDevice, ad: AdvertisementData) -> None:
                seen[d.address] = ad

            async with BleakScanner(cb, backend=be.scanner):
                await asyncio.sleep(0.3)
            names = sorted(ad.local_name or "" for ad in seen.values())
            assert names == ["HRM-0", "HRM-1", "IMG-0001", "IMG-0002", "IMG-0003"]
            found = await scan_sensors(backend=be, timeout_s=0.3)
            assert [(f.name, f.address, f.protocol) for f in found] == [
                (f"IMG-000{i}", f"C0:1D:00:00:00:0{i}", ref.PROTOCOL_NAME) for i in (1, 2, 3)
            ]
            assert all(f.rssi is not None for f in found)

    asyncio.run(main())


def test_client_gatt_commands_info_and_errors() -> None:
    async def main() -> None:
        async with sim_backend(simulation=walk(), n_sensors=1) as be:
            dev = await _find(be, "IMG-0001")
            async with BleakClient(dev, backend=be.client) as client:
                assert client.backend_id == "BumbleClient"
                assert client.mtu_size == 247
                svc = client.services.get_service(ref.SERVICE_UUID)
                assert svc is not None
                props = {c.uuid: set(c.properties) for c in svc.characteristics}
                assert props[ref.DATA_UUID] == {"notify"}
                assert props[ref.CONTROL_UUID] == {"write"}
                assert props[ref.INFO_UUID] == {"read"}
                info = ref.decode_info(await client.read_gatt_char(ref.INFO_UUID))
                assert info.config.odr_hz == 200.0
                assert not info.streaming
                assert await read_battery_pct(client) == 87
                # refused CONTROL writes surface as typed GATT errors with the spec's codes
                with pytest.raises(BleakGATTProtocolError) as err:
                    await client.write_gatt_char(ref.CONTROL_UUID, b"\x7f", response=True)
                assert int(err.value.code) == ref.ControlStatus.UNKNOWN_COMMAND
                with pytest.raises(BleakGATTProtocolError) as err:
                    await client.write_gatt_char(ref.CONTROL_UUID, b"\x03\x64\x00", response=True)
                assert int(err.value.code) == ref.ControlStatus.BAD_VALUE  # 100 Hz: not this one
                await client.write_gatt_char(ref.CONTROL_UUID, b"\x01", response=True)
                with pytest.raises(BleakGATTProtocolError) as err:
                    await client.write_gatt_char(ref.CONTROL_UUID, b"\x05\x02", response=True)
                assert int(err.value.code) == ref.ControlStatus.BUSY
                got: list[bytes] = []
                await client.start_notify(ref.DATA_UUID, lambda _c, d: got.append(bytes(d)))
                await asyncio.sleep(0.5)
                await client.write_gatt_char(ref.CONTROL_UUID, b"\x02", response=True)
                n = len(got)
                await asyncio.sleep(0.1)
                assert len(got) == n  # nothing after STOP
                frames = [ref.decode_frame(p, info.config) for p in got]
                assert [f.seq for f in frames] == list(range(len(frames)))
                assert 20 <= len(frames) <= 30  # 0.5 s at 50 frames/s
            assert not client.is_connected

    asyncio.run(main())


def test_retry_connector_and_peripheral_disconnect_callback() -> None:
    async def main() -> None:
        faults = {"LT": SensorFaults(disconnect_at_s=(1.0,))}
        async with sim_backend(simulation=walk(), n_sensors=1, faults=faults) as be:
            dev = await _find(be, "IMG-0001")
            lost = asyncio.Event()
            client = await establish_connection(
                BleakClient,
                dev,
                "IMG-0001",
                disconnected_callback=lambda _c: lost.set(),
                backend=be.client,
            )
            assert client.is_connected
            await asyncio.wait_for(lost.wait(), 3.0)
            assert _connected(client) is False
            assert be.sensors[0].stats.peripheral_disconnects == 1
            # it advertises again, and a new connection works
            dev2 = await _find(be, "IMG-0001")
            client2 = await establish_connection(BleakClient, dev2, "IMG-0001", backend=be.client)
            assert client2.is_connected
            await client2.disconnect()

    asyncio.run(main())


def test_client_by_address_string_scans_for_it() -> None:
    async def main() -> None:
        async with (
            sim_backend(simulation=walk(), n_sensors=2) as be,
            BleakClient("C0:1D:00:00:00:02", backend=be.client, timeout=3.0) as c,
        ):
            assert c.name == "IMG-0002"

    asyncio.run(main())


def test_mtu_follows_the_peripheral_and_frames_fit() -> None:
    async def main() -> None:
        faults = {"LT": SensorFaults(max_mtu=23), "RT": SensorFaults(max_mtu=59)}
        async with sim_backend(simulation=walk(), n_sensors=2, faults=faults) as be:
            cfgs = be.session_config(subject_id="S", out="unused").sensors
            for name, cfg, mtu, spf in (("IMG-0001", cfgs[0], 23, 1), ("IMG-0002", cfgs[1], 59, 4)):
                async with BleakClient(await _find(be, name), backend=be.client) as client:
                    assert client.mtu_size == mtu
                    info = await ReferenceDriver().configure(client, cfg)
                    assert info["config"]["samples_per_frame"] == spf
                    assert info["att_mtu"] == mtu

    asyncio.run(main())


def test_driver_rejects_a_rate_the_sensor_cannot_do() -> None:
    async def main() -> None:
        async with sim_backend(simulation=walk(), n_sensors=1) as be:
            cfg = be.session_config(subject_id="S", out="unused").sensors[0]
            cfg = type(cfg)(**{**cfg.__dict__, "rate_hz": 100.0})
            async with BleakClient(await _find(be, "IMG-0001"), backend=be.client) as client:
                with pytest.raises(DeviceError, match="refused its configuration"):
                    await ReferenceDriver().configure(client, cfg)

    asyncio.run(main())


def test_make_backend_spellings() -> None:
    assert make_backend("auto").scanner is None
    hw = make_backend("bumble:usb:0")
    assert isinstance(hw, BumbleHostBackend)
    assert hw.moniker == "usb:0"
    assert hw.client is not None
    assert hw.client.__name__ == "BumbleClient"
    with pytest.raises(ConfigError, match="unknown BLE backend"):
        make_backend("bluez2")
    with pytest.raises(ValueError, match="unknown sensors"):
        sim_backend(simulation=walk(), faults={"XX": SensorFaults()})
