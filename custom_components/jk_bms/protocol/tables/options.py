"""Option tables for enumerated fields and selects (protocol doc §6.1, §8.3).

Option keys are snake_case so Home Assistant can use them as translation keys;
the list index is the value the BMS stores. ``OPTION_LABELS`` keeps the vendor
wording for each key (used as the English name).
"""

from __future__ import annotations

from collections.abc import Mapping

UART_PROTOCOL_LABELS: Mapping[str, str] = {
    "gps_remote_module_common_v4_2": "4G-GPS Remote module Common protocol V4.2",
    "jk_bms_rs485_modbus_v1_0": "JK BMS RS485 Modbus V1.0",
    "niu_u_series": "NIU U SERIES",
    "china_tower_shared_battery_cabinet_v1_1": "China tower shared battery cabinet V1.1",
    "pace_rs485_modbus_v1_3": "PACE_RS485_Modbus_V1.3",
    "pylon_low_voltage_rs485_v3_5": "PYLON_low_voltage_Protocol_RS485_V3.5",
    "growatt_bms_rs485_1sxxp_ess_rev2_01": "Growatt_BMS_RS485_Protocol_1xSxxP_ESS_Rev2.01",
    "voltronic_inverter_and_bms_485_20200325": "Voltronic_Inverter_and_BMS_485_communication_protocol_20200325",
    "china_tower_shared_battery_cabinet_v2_0": "China tower shared battery cabinet V2.0",
    "wow_rs485_modbus_v1_3": "WOW_RS485_Modbus_V1.3",
    "jk_bms_lcd_v2_0": "JK BMS LCD Protocol V2.0",
    "uart1_user_customization": "UART1 User customization",
    "uart2_user_customization": "UART2 User customization",
    "jk_bms_rs485_modbus_v1_0_9600": "(9600) JK BMS RS485 Modbus V1.0",
    "pylon_low_voltage_rs485_v3_5_9600": "(9600) PYLON_low_voltage_Protocol_RS485_V3.5",
    "jk_bms_pbxx_series_lcd_v1_0": "JK BMS PBxx SERIES LCD Protocol V1.0",
    "jk_bms_lin_bus_v1_0": "JK BMS LIN BUS V1.0",
    "rs485_protocol_17": "RS485 Protocol 17",
    "rs485_protocol_18": "RS485 Protocol 18",
    "rs485_protocol_19": "RS485 Protocol 19",
    "rs485_protocol_20": "RS485 Protocol 20",
}

CAN_PROTOCOL_LABELS: Mapping[str, str] = {
    "jk_bms_can_250k_v2_0": "JK BMS CAN (250K) V2.0",
    "deye_low_voltage_hybrid_v1_0": "Deye low-voltage hybrid V1.0",
    "pylon_low_voltage_v1_2": "PYLON-Low-voltage-V1.2",
    "growatt_can_rev_05": "Growatt CAN rev 05",
    "victron_canbus_bms_20170717": "Victron CANbus BMS 20170717",
    "megarevo_v1_0": "MEGAREVO V1.0",
    "jk_bms_can_500k_v2_0": "JK BMS CAN (500K) V2.0",
    "invt_v1_02": "INVT V1.02",
    "goodwe_lv": "GoodWe LV",
    "fss_connectingbat": "FSS-ConnectingBat",
    "must_pv1800f_1_04_04": "MUST PV1800F 1.04.04",
    "luxpowertek_v01": "LuxpowerTek V01",
    "can_user_customization_1": "CAN user customization 1",
    "can_user_customization_2": "CAN user customization 2",
}

TRIGGER_LABELS: Mapping[str, str] = {
    "off": "Off",
    "low_soc": "Low SoC",
    "battery_over_voltage": "Battery over voltage",
    "battery_under_voltage": "Battery under voltage",
    "cell_over_voltage": "Cell over voltage",
    "cell_under_voltage": "Cell under voltage",
    "charge_over_current": "Charge over current",
    "discharge_over_current": "Discharge over current",
    "battery_over_temperature": "Battery over temperature",
    "mosfet_over_temperature": "MOSFET over temperature",
    "system_alarm": "System alarm",
    "battery_low_temperature": "Battery low temperature",
    "remote_control": "Remote control",
    "above_soc": "Above SoC",
    "mosfet_abnormal": "MOSFET abnormal",
}

PORT_MODE_LABELS: Mapping[str, str] = {"can": "CAN", "rs485": "RS485"}
BALANCER_STATUS_LABELS: Mapping[str, str] = {
    "off": "Off",
    "charging": "Charging",
    "discharging": "Discharging",
}
CHARGE_STATUS_LABELS: Mapping[str, str] = {
    "bulk": "Bulk",
    "absorption": "Absorption",
    "float": "Float",
}
BATTERY_TYPE_LABELS: Mapping[str, str] = {
    "lfp": "LiFePO4",
    "li_ion": "Li-ion",
    "lto": "LTO",
}

UART_PROTOCOLS: tuple[str, ...] = tuple(UART_PROTOCOL_LABELS)
CAN_PROTOCOLS: tuple[str, ...] = tuple(CAN_PROTOCOL_LABELS)
TRIGGERS: tuple[str, ...] = tuple(TRIGGER_LABELS)
PORT_MODES: tuple[str, ...] = tuple(PORT_MODE_LABELS)
BALANCER_STATUSES: tuple[str, ...] = tuple(BALANCER_STATUS_LABELS)
CHARGE_STATUSES: tuple[str, ...] = tuple(CHARGE_STATUS_LABELS)
BATTERY_TYPES: tuple[str, ...] = tuple(BATTERY_TYPE_LABELS)

SELECT_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "uart1_protocol": UART_PROTOCOLS,
    "uart2_protocol": UART_PROTOCOLS,
    "uart3_protocol": UART_PROTOCOLS,
    "can_protocol": CAN_PROTOCOLS,
    "lcd_buzzer_trigger": TRIGGERS,
    "dry1_trigger": TRIGGERS,
    "dry2_trigger": TRIGGERS,
    "port_mode": PORT_MODES,
}

OPTION_LABELS: Mapping[str, str] = {
    **UART_PROTOCOL_LABELS,
    **CAN_PROTOCOL_LABELS,
    **TRIGGER_LABELS,
    **PORT_MODE_LABELS,
    **BALANCER_STATUS_LABELS,
    **CHARGE_STATUS_LABELS,
    **BATTERY_TYPE_LABELS,
}
