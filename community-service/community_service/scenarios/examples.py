"""The example scenarios of the device protocol's documentation, as their authors wrote them: the demo
tenant offers them and the tests check the validator against them.

- ``HIGH_PRIORITY``: a battery low on charge asks for energy early (requests below 3,600 Wh, offers
  above 4,800 Wh);
- ``LOW_PRIORITY``: a battery asks late and offers early (requests below 2,400 Wh, offers above 3,600 Wh);
- ``LOW_PRIORITY_AS_SERVED``: LOW_PRIORITY as a device receives it from ``currentData`` in the
  protocol's own example (one line per member, no trailing comment).

Each declares one window for the whole day (``00:00:00-24:00:00``), comments under ``#`` keys
(``#`` appears twice in one object: comments may repeat) and the ``pointAndAmount`` strategy.
"""

HIGH_PRIORITY = """\
{
    "#": "Low rsoc, High priority",

    "refreshingPeriodMsec": 30000,

    "acceptSelection": {
        "#_strategy": "amount",
        "strategy": "pointAndAmount",
        "#": "end"
    },

    "00:00:00-24:00:00": {
        "batteryStatus": {
            "4800-": "excess",
            "4320-4800": "sufficient",
            "3600-4320": "scarce",
            "-3600": "short"
        },
        "request": {
            "excess": {
                "discharge": {
                    "limitWh": 4800,
                    "pointPerWh": 10
                }
            },
            "sufficient": {
            },
            "scarce": {
            },
            "short": {
                "charge": {
                    "limitWh": 3600,
                    "pointPerWh": 10
                }
            }
        },
        "accept": {
            "excess": {
                "discharge": {
                    "limitWh": 4320,
                    "pointPerWh": 10
                }
            },
            "sufficient": {
                "discharge": {
                    "limitWh": 4320,
                    "pointPerWh": 10
                }
            },
            "scarce": {
                "charge": {
                    "limitWh": 4320,
                    "pointPerWh": 10
                }
            },
            "short": {
                "charge": {
                    "limitWh": 4320,
                    "pointPerWh": 10
                }
            }
        }
    },

    "#": "end"
}"""

LOW_PRIORITY = """\
{
    "#": "High rsoc, Low priority",

    "refreshingPeriodMsec": 30000,

    "acceptSelection": {
        "#_strategy": "amount",
        "strategy": "pointAndAmount",
        "#": "end"
    },

    "00:00:00-24:00:00": {
        "batteryStatus": {
            "3600-": "excess",
            "2400-3600": "sufficient",
            "0-2400": "scarce",
            "-0": "short"
        },
        "request": {
            "excess": {
                "discharge": {
                    "limitWh": 2400,
                    "pointPerWh": 10
                }
            },
            "sufficient": {
            },
            "scarce": {
            },
            "short": {
                "charge": {
                    "limitWh": 2400,
                    "pointPerWh": 10
                }
            }
        },
        "accept": {
            "excess": {
                "discharge": {
                    "limitWh": 2400,
                    "pointPerWh": 10
                }
            },
            "sufficient": {
                "discharge": {
                    "limitWh": 2400,
                    "pointPerWh": 10
                }
            },
            "scarce": {
                "charge": {
                    "limitWh": 3600,
                    "pointPerWh": 10
                }
            },
            "short": {
                "charge": {
                    "limitWh": 3600,
                    "pointPerWh": 10
                }
            }
        }
    },

    "#": "end"
}"""

LOW_PRIORITY_AS_SERVED = """\
{
"#": "High rsoc, Low priority",
"refreshingPeriodMsec": 30000,
"acceptSelection": {
"#_strategy": "amount",
"strategy": "pointAndAmount",
"#": "end"
},
"00:00:00-24:00:00": {
"batteryStatus": {
"3600-": "excess",
"2400-3600": "sufficient",
"0-2400": "scarce",
"-0": "short"
},
"request": {
"excess": {
"discharge": {
"limitWh": 2400,
"pointPerWh": 10
}
},
"sufficient": {
},
"scarce": {
},
"short": {
"charge": {
"limitWh": 2400,
"pointPerWh": 10
}
}
},
"accept": {
"excess": {
"discharge": {
"limitWh": 2400,
"pointPerWh": 10
}
},
"sufficient": {
"discharge": {
"limitWh": 2400,
"pointPerWh": 10
}
},
"scarce": {
"charge": {
"limitWh": 3600,
"pointPerWh": 10
}
},
"short": {
"charge": {
"limitWh": 3600,
"pointPerWh": 10
}
}
}
}
}"""

# name, description, data: the examples a tenant starts from.
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("HIGH_PRIORITY", "Low rsoc, High priority", HIGH_PRIORITY),
    ("LOW_PRIORITY", "High rsoc, Low priority", LOW_PRIORITY),
)
