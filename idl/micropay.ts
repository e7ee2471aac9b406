/**
 * The micropay IDL in camelCase, as `Program` sees it: the type of
 * `new Program<Micropay>(idl as Micropay, provider)`.
 *
 * Generated from idl/micropay.json by `cargo run -p micropay-idl`; do not edit.
 */
export type Micropay = {
  "accounts": [
    {
      "discriminator": [
        49,
        159,
        99,
        106,
        220,
        87,
        219,
        88
      ],
      "name": "channel"
    },
    {
      "discriminator": [
        91,
        138,
        17,
        199,
        164,
        111,
        222,
        232
      ],
      "name": "earnings"
    },
    {
      "discriminator": [
        31,
        213,
        123,
        187,
        186,
        22,
        218,
        155
      ],
      "name": "escrow"
    },
    {
      "discriminator": [
        166,
        254,
        141,
        46,
        23,
        221,
        129,
        195
      ],
      "name": "split"
    }
  ],
  "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
  "constants": [
    {
      "docs": [
        "Seed of a channel PDA: `[\"channel\", escrow, id (u64 LE), nonce (u64 LE)]`."
      ],
      "name": "channelSeed",
      "type": "bytes",
      "value": "[99, 104, 97, 110, 110, 101, 108]"
    },
    {
      "docs": [
        "Seed of an earnings PDA: `[\"earnings\", owner, mint]`."
      ],
      "name": "earningsSeed",
      "type": "bytes",
      "value": "[101, 97, 114, 110, 105, 110, 103, 115]"
    },
    {
      "docs": [
        "Seed of a payer's escrow PDA: `[\"escrow\", owner, mint]`."
      ],
      "name": "escrowSeed",
      "type": "bytes",
      "value": "[101, 115, 99, 114, 111, 119]"
    },
    {
      "docs": [
        "Longest dispute window a channel may have, in seconds (30 days), so that a",
        "payer's funds are never locked for longer than that after a close request."
      ],
      "name": "maxDisputeWindowSecs",
      "type": "u32",
      "value": "2592000"
    },
    {
      "docs": [
        "Highest dApp fee share a channel may carry: 10% of every claim."
      ],
      "name": "maxFeeBps",
      "type": "u16",
      "value": "1000"
    },
    {
      "docs": [
        "Most recipients one split pays."
      ],
      "name": "maxSplitRecipients",
      "type": "u8",
      "value": "32"
    },
    {
      "docs": [
        "Most vouchers one `claim` instruction settles. The transaction size bounds a",
        "batch to about 14 vouchers first; this bound keeps compute (≈13k CU each)",
        "far below 1.4M even if a caller packs several instructions."
      ],
      "name": "maxVouchersPerClaim",
      "type": "u8",
      "value": "64"
    },
    {
      "docs": [
        "Shortest dispute window a channel may have, in seconds. Long enough for a",
        "creator's watchtower to notice a close request and claim."
      ],
      "name": "minDisputeWindowSecs",
      "type": "u32",
      "value": "60"
    },
    {
      "docs": [
        "Marks \"no account\" in a claim entry's fee-earnings index."
      ],
      "name": "noAccountIndex",
      "type": "u8",
      "value": "255"
    },
    {
      "docs": [
        "Seed of a split PDA: `[\"split\", mint, sha256(recipients)]`."
      ],
      "name": "splitSeed",
      "type": "bytes",
      "value": "[115, 112, 108, 105, 116]"
    },
    {
      "docs": [
        "Seed of the per-mint vault token account PDA: `[\"vault\", mint]`."
      ],
      "name": "vaultSeed",
      "type": "bytes",
      "value": "[118, 97, 117, 108, 116]"
    },
    {
      "docs": [
        "Domain tag that starts every voucher message. Seven bytes, so that a whole",
        "voucher message (tag ‖ channel ‖ amount) is 47 bytes and R‖A‖M fits one",
        "SHA-512 block."
      ],
      "name": "voucherDomain",
      "type": {
        "array": [
          "u8",
          7
        ]
      },
      "value": "[109, 112, 97, 121, 45, 118, 49]"
    }
  ],
  "errors": [
    {
      "code": 6000,
      "msg": "Amount must be greater than zero",
      "name": "zeroAmount"
    },
    {
      "code": 6001,
      "msg": "Not enough free balance: deposit more, or withdraw or allocate less",
      "name": "insufficientBalance"
    },
    {
      "code": 6002,
      "msg": "Arithmetic overflow: the amount is too large",
      "name": "mathOverflow"
    },
    {
      "code": 6003,
      "msg": "Only the escrow owner may do this",
      "name": "notEscrowOwner"
    },
    {
      "code": 6004,
      "msg": "Only the channel's creator may do this",
      "name": "notChannelCreator"
    },
    {
      "code": 6005,
      "msg": "Only the earnings account's owner may withdraw from it",
      "name": "notEarningsOwner"
    },
    {
      "code": 6006,
      "msg": "The mint has a Token-2022 extension that would break escrow accounting (transfer fee, hook, permanent delegate, default frozen state, non-transferable, confidential or pausable)",
      "name": "unsupportedMintExtension"
    },
    {
      "code": 6007,
      "msg": "The account belongs to another mint than the escrow",
      "name": "mintMismatch"
    },
    {
      "code": 6008,
      "msg": "The vault account is not the mint's micropay vault, or a withdrawal names the vault as destination",
      "name": "invalidVault"
    },
    {
      "code": 6009,
      "msg": "Fee share is above the maximum of 1000 bps (10%)",
      "name": "feeTooHigh"
    },
    {
      "code": 6010,
      "msg": "A fee share needs a fee recipient and a fee recipient needs a non-zero fee share",
      "name": "feeRecipientMismatch"
    },
    {
      "code": 6011,
      "msg": "Dispute window must be between 60 seconds and 30 days",
      "name": "disputeWindowOutOfRange"
    },
    {
      "code": 6012,
      "msg": "Channel expiry must be in the future",
      "name": "expiryInPast"
    },
    {
      "code": 6013,
      "msg": "The voucher signer key is not a valid ed25519 public key (non-canonical or small order)",
      "name": "invalidVoucherSigner"
    },
    {
      "code": 6014,
      "msg": "The channel has a close request pending; open a new channel instead",
      "name": "channelClosing"
    },
    {
      "code": 6015,
      "msg": "The channel has no close request; call request_close first",
      "name": "closeNotRequested"
    },
    {
      "code": 6016,
      "msg": "The dispute window is still open; wait until it ends",
      "name": "disputeWindowOpen"
    },
    {
      "code": 6017,
      "msg": "The escrow still has open channels; close them first",
      "name": "escrowHasOpenChannels"
    },
    {
      "code": 6018,
      "msg": "The escrow still holds a balance; withdraw it first",
      "name": "escrowNotEmpty"
    },
    {
      "code": 6019,
      "msg": "A claim needs at least one voucher",
      "name": "emptyClaim"
    },
    {
      "code": 6020,
      "msg": "Too many vouchers in one claim instruction (at most 64)",
      "name": "tooManyVouchers"
    },
    {
      "code": 6021,
      "msg": "A claim entry points past the accounts passed to the instruction",
      "name": "accountIndexOutOfRange"
    },
    {
      "code": 6022,
      "msg": "A channel or earnings account passed to claim is not writable",
      "name": "accountNotWritable"
    },
    {
      "code": 6023,
      "msg": "The account is not a micropay channel",
      "name": "invalidChannelAccount"
    },
    {
      "code": 6024,
      "msg": "The account is not a micropay earnings account",
      "name": "invalidEarningsAccount"
    },
    {
      "code": 6025,
      "msg": "The earnings account is not the channel creator's for the channel's mint",
      "name": "creatorEarningsMismatch"
    },
    {
      "code": 6026,
      "msg": "The fee earnings account is not the channel fee recipient's for the channel's mint, or was given for a channel without fee",
      "name": "feeEarningsMismatch"
    },
    {
      "code": 6027,
      "msg": "Voucher signature scalar S is not canonical (S >= L): the signature was malleated",
      "name": "signatureScalarNotCanonical"
    },
    {
      "code": 6028,
      "msg": "Voucher signature point R is not a canonical encoding",
      "name": "signaturePointNotCanonical"
    },
    {
      "code": 6029,
      "msg": "Voucher signature point R has small order",
      "name": "signaturePointSmallOrder"
    },
    {
      "code": 6030,
      "msg": "Voucher signature does not verify against the channel's signer, channel and amount",
      "name": "invalidVoucherSignature"
    },
    {
      "code": 6031,
      "msg": "The channel does not belong to this escrow",
      "name": "channelEscrowMismatch"
    },
    {
      "code": 6032,
      "msg": "The account passed as owner is not the escrow owner",
      "name": "rentReceiverMismatch"
    },
    {
      "code": 6033,
      "msg": "The account already exists",
      "name": "alreadyInitialized"
    },
    {
      "code": 6034,
      "msg": "An account invariant does not hold after this instruction (a program bug); nothing was changed",
      "name": "invariantViolated"
    },
    {
      "code": 6035,
      "msg": "The escrow was created in this slot; close it in a later slot (about half a second from now)",
      "name": "escrowCreatedThisSlot"
    },
    {
      "code": 6036,
      "msg": "The earnings account still holds a balance; withdraw it first",
      "name": "earningsNotEmpty"
    },
    {
      "code": 6037,
      "msg": "Split shares must be 1 to 32 recipients in ascending order of address, each once, each above 0 bps, summing to 10,000 bps",
      "name": "invalidSplitShares"
    },
    {
      "code": 6038,
      "msg": "Pass every recipient's earnings account for the split's mint, in the split's recipient order",
      "name": "splitAccountsMismatch"
    },
    {
      "code": 6039,
      "msg": "A recipient has no earnings account for this mint; create it (init_earnings) before the split",
      "name": "splitEarningsMissing"
    },
    {
      "code": 6040,
      "msg": "The account passed to receive the rent is not the one that paid it (the earnings account's rent_payer)",
      "name": "rentPayerMismatch"
    }
  ],
  "events": [
    {
      "discriminator": [
        119,
        198,
        23,
        254,
        216,
        124,
        84,
        16
      ],
      "name": "channelClosed"
    },
    {
      "discriminator": [
        253,
        213,
        255,
        96,
        31,
        188,
        47,
        170
      ],
      "name": "channelOpened"
    },
    {
      "discriminator": [
        54,
        225,
        177,
        32,
        80,
        12,
        60,
        115
      ],
      "name": "channelToppedUp"
    },
    {
      "discriminator": [
        217,
        192,
        123,
        72,
        108,
        150,
        248,
        33
      ],
      "name": "claimed"
    },
    {
      "discriminator": [
        136,
        120,
        170,
        78,
        168,
        236,
        47,
        118
      ],
      "name": "closeRequested"
    },
    {
      "discriminator": [
        111,
        141,
        26,
        45,
        161,
        35,
        100,
        57
      ],
      "name": "deposited"
    },
    {
      "discriminator": [
        10,
        212,
        24,
        78,
        35,
        202,
        182,
        134
      ],
      "name": "distributed"
    },
    {
      "discriminator": [
        133,
        17,
        246,
        101,
        198,
        97,
        44,
        119
      ],
      "name": "earningsClosed"
    },
    {
      "discriminator": [
        0,
        96,
        44,
        190,
        188,
        192,
        71,
        144
      ],
      "name": "earningsInitialized"
    },
    {
      "discriminator": [
        2,
        155,
        160,
        28,
        85,
        112,
        127,
        79
      ],
      "name": "earningsWithdrawn"
    },
    {
      "discriminator": [
        109,
        20,
        57,
        51,
        217,
        118,
        3,
        173
      ],
      "name": "escrowClosed"
    },
    {
      "discriminator": [
        222,
        186,
        157,
        47,
        145,
        142,
        176,
        248
      ],
      "name": "escrowInitialized"
    },
    {
      "discriminator": [
        87,
        61,
        160,
        84,
        73,
        204,
        93,
        140
      ],
      "name": "splitCreated"
    },
    {
      "discriminator": [
        20,
        89,
        223,
        198,
        194,
        124,
        219,
        13
      ],
      "name": "withdrawn"
    }
  ],
  "instructions": [
    {
      "accounts": [
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "claimArgs"
            }
          }
        }
      ],
      "discriminator": [
        62,
        198,
        214,
        193,
        213,
        159,
        108,
        210
      ],
      "docs": [
        "Settles a batch of vouchers (permissionless)."
      ],
      "name": "claim"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "earnings"
          ],
          "signer": true,
          "writable": true
        },
        {
          "name": "earnings",
          "writable": true
        },
        {
          "name": "rentPayer",
          "relations": [
            "earnings"
          ],
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        129,
        8,
        116,
        213,
        74,
        235,
        214,
        186
      ],
      "docs": [
        "Closes an earnings account with zero balance (rent back to its owner)."
      ],
      "name": "closeEarnings"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "escrow"
          ],
          "signer": true,
          "writable": true
        },
        {
          "name": "escrow",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  115,
                  99,
                  114,
                  111,
                  119
                ]
              },
              {
                "kind": "account",
                "path": "owner"
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "mint",
          "relations": [
            "escrow"
          ]
        },
        {
          "name": "vault",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  118,
                  97,
                  117,
                  108,
                  116
                ]
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "docs": [
            "Receives the remaining balance: any token account of the mint but the",
            "vault itself (`dup` lets the constraint name that case)."
          ],
          "name": "destination",
          "writable": true
        },
        {
          "name": "tokenProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        139,
        171,
        94,
        146,
        191,
        91,
        144,
        50
      ],
      "docs": [
        "Closes an escrow with no open channel, sweeping its balance to the owner."
      ],
      "name": "closeEscrow"
    },
    {
      "accounts": [
        {
          "name": "payer",
          "signer": true,
          "writable": true
        },
        {
          "name": "mint"
        },
        {
          "docs": [
            "`[\"split\", mint, sha256(recipients)]` (checked in `validate`)."
          ],
          "name": "split",
          "writable": true
        },
        {
          "address": "11111111111111111111111111111111",
          "name": "systemProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "createSplitArgs"
            }
          }
        }
      ],
      "discriminator": [
        196,
        195,
        250,
        188,
        17,
        255,
        10,
        151
      ],
      "docs": [
        "Creates a royalty split: one payee that pays several owners fixed shares."
      ],
      "name": "createSplit"
    },
    {
      "accounts": [
        {
          "name": "creator",
          "relations": [
            "channel"
          ],
          "signer": true
        },
        {
          "name": "escrow",
          "relations": [
            "channel"
          ],
          "writable": true
        },
        {
          "name": "channel",
          "writable": true
        },
        {
          "name": "owner",
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        35,
        219,
        44,
        148,
        25,
        22,
        23,
        125
      ],
      "docs": [
        "The creator closes a channel at once."
      ],
      "name": "creatorClose"
    },
    {
      "accounts": [
        {
          "docs": [
            "Authority of `source`."
          ],
          "name": "depositor",
          "signer": true
        },
        {
          "name": "escrow",
          "writable": true
        },
        {
          "name": "mint",
          "relations": [
            "escrow"
          ]
        },
        {
          "name": "source",
          "writable": true
        },
        {
          "name": "vault",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  118,
                  97,
                  117,
                  108,
                  116
                ]
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "tokenProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "depositArgs"
            }
          }
        }
      ],
      "discriminator": [
        242,
        35,
        198,
        137,
        82,
        225,
        242,
        182
      ],
      "docs": [
        "Moves tokens into the vault, credited to the escrow's free balance."
      ],
      "name": "deposit"
    },
    {
      "accounts": [
        {
          "name": "split",
          "writable": true
        },
        {
          "docs": [
            "The split's own earnings account, for its mint or another."
          ],
          "name": "splitEarnings",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  97,
                  114,
                  110,
                  105,
                  110,
                  103,
                  115
                ]
              },
              {
                "kind": "account",
                "path": "split"
              },
              {
                "account": "earnings",
                "kind": "account",
                "path": "splitEarnings.mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        191,
        44,
        223,
        207,
        164,
        236,
        126,
        61
      ],
      "docs": [
        "Moves a split's earnings to its recipients by share (permissionless)."
      ],
      "name": "distribute"
    },
    {
      "accounts": [
        {
          "name": "escrow",
          "relations": [
            "channel"
          ],
          "writable": true
        },
        {
          "name": "channel",
          "writable": true
        },
        {
          "name": "owner",
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        9,
        206,
        42,
        67,
        232,
        143,
        165,
        246
      ],
      "docs": [
        "Anyone closes a channel after its dispute window, or once it expired."
      ],
      "name": "finalizeClose"
    },
    {
      "accounts": [
        {
          "name": "payer",
          "signer": true,
          "writable": true
        },
        {
          "name": "mint"
        },
        {
          "name": "earnings",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  97,
                  114,
                  110,
                  105,
                  110,
                  103,
                  115
                ]
              },
              {
                "kind": "arg",
                "path": "args.owner"
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "address": "11111111111111111111111111111111",
          "name": "systemProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "initEarningsArgs"
            }
          }
        }
      ],
      "discriminator": [
        99,
        244,
        155,
        203,
        150,
        119,
        111,
        251
      ],
      "docs": [
        "Creates the earnings account of a wallet for a mint."
      ],
      "name": "initEarnings"
    },
    {
      "accounts": [
        {
          "docs": [
            "Escrow owner; pays the escrow's rent (and the vault's, if it is new)."
          ],
          "name": "owner",
          "signer": true,
          "writable": true
        },
        {
          "name": "mint"
        },
        {
          "name": "escrow",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  115,
                  99,
                  114,
                  111,
                  119
                ]
              },
              {
                "kind": "account",
                "path": "owner"
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "docs": [
            "contents are checked in `validate()`."
          ],
          "name": "vault",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  118,
                  97,
                  117,
                  108,
                  116
                ]
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "tokenProgram"
        },
        {
          "address": "11111111111111111111111111111111",
          "name": "systemProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        70,
        46,
        40,
        23,
        6,
        11,
        81,
        139
      ],
      "docs": [
        "Creates the payer's escrow for a mint (and the mint's vault if missing)."
      ],
      "name": "initEscrow"
    },
    {
      "accounts": [
        {
          "docs": [
            "Escrow owner; pays the channel's rent and gets it back on close."
          ],
          "name": "owner",
          "relations": [
            "escrow"
          ],
          "signer": true,
          "writable": true
        },
        {
          "name": "escrow",
          "writable": true
        },
        {
          "name": "channel",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  99,
                  104,
                  97,
                  110,
                  110,
                  101,
                  108
                ]
              },
              {
                "kind": "account",
                "path": "escrow"
              },
              {
                "account": "escrow",
                "kind": "account",
                "path": "escrow.generation"
              },
              {
                "account": "escrow",
                "kind": "account",
                "path": "escrow.nextChannelId"
              },
              {
                "kind": "arg",
                "path": "args.nonce"
              }
            ]
          },
          "writable": true
        },
        {
          "address": "11111111111111111111111111111111",
          "name": "systemProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "openChannelArgs"
            }
          }
        }
      ],
      "discriminator": [
        91,
        45,
        253,
        71,
        140,
        166,
        107,
        109
      ],
      "docs": [
        "Opens a channel to a creator, funded from the escrow balance."
      ],
      "name": "openChannel"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "escrow"
          ],
          "signer": true
        },
        {
          "name": "escrow",
          "relations": [
            "channel"
          ]
        },
        {
          "name": "channel",
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [],
      "discriminator": [
        82,
        168,
        167,
        86,
        14,
        15,
        199,
        180
      ],
      "docs": [
        "Payer starts closing a channel; the dispute window starts now."
      ],
      "name": "requestClose"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "escrow"
          ],
          "signer": true
        },
        {
          "name": "escrow",
          "relations": [
            "channel"
          ],
          "writable": true
        },
        {
          "name": "channel",
          "writable": true
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "topUpChannelArgs"
            }
          }
        }
      ],
      "discriminator": [
        38,
        221,
        240,
        107,
        147,
        50,
        68,
        140
      ],
      "docs": [
        "Adds allocation to an open channel from the escrow balance."
      ],
      "name": "topUpChannel"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "escrow"
          ],
          "signer": true
        },
        {
          "name": "escrow",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  115,
                  99,
                  114,
                  111,
                  119
                ]
              },
              {
                "kind": "account",
                "path": "owner"
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "mint",
          "relations": [
            "escrow"
          ]
        },
        {
          "name": "vault",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  118,
                  97,
                  117,
                  108,
                  116
                ]
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "docs": [
            "Any token account of the mint but the vault itself (paying the vault",
            "would take the amount off the books without moving it). `dup` lets the",
            "constraint below name that case (`InvalidVault`) instead of Anchor's",
            "generic duplicate-account error."
          ],
          "name": "destination",
          "writable": true
        },
        {
          "name": "tokenProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "withdrawArgs"
            }
          }
        }
      ],
      "discriminator": [
        183,
        18,
        70,
        156,
        148,
        109,
        161,
        34
      ],
      "docs": [
        "Returns free escrow balance to the owner."
      ],
      "name": "withdraw"
    },
    {
      "accounts": [
        {
          "name": "owner",
          "relations": [
            "earnings"
          ],
          "signer": true
        },
        {
          "name": "earnings",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  101,
                  97,
                  114,
                  110,
                  105,
                  110,
                  103,
                  115
                ]
              },
              {
                "kind": "account",
                "path": "owner"
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "name": "mint",
          "relations": [
            "earnings"
          ]
        },
        {
          "name": "vault",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  118,
                  97,
                  117,
                  108,
                  116
                ]
              },
              {
                "kind": "account",
                "path": "mint"
              }
            ]
          },
          "writable": true
        },
        {
          "docs": [
            "Any token account of the mint but the vault itself (paying the vault",
            "would take the amount off the books without moving it). `dup` lets the",
            "constraint below name that case (`InvalidVault`) instead of Anchor's",
            "generic duplicate-account error."
          ],
          "name": "destination",
          "writable": true
        },
        {
          "name": "tokenProgram"
        },
        {
          "name": "eventAuthority",
          "pda": {
            "seeds": [
              {
                "kind": "const",
                "value": [
                  95,
                  95,
                  101,
                  118,
                  101,
                  110,
                  116,
                  95,
                  97,
                  117,
                  116,
                  104,
                  111,
                  114,
                  105,
                  116,
                  121
                ]
              }
            ]
          }
        },
        {
          "address": "4wPrW6yL7jopqbJBc4JFHqM5Pa6qEiktAAYNmqGUWhf3",
          "name": "program"
        }
      ],
      "args": [
        {
          "name": "args",
          "type": {
            "defined": {
              "name": "withdrawEarningsArgs"
            }
          }
        }
      ],
      "discriminator": [
        6,
        132,
        233,
        254,
        241,
        87,
        247,
        185
      ],
      "docs": [
        "Moves earnings to a token account of the owner's choice."
      ],
      "name": "withdrawEarnings"
    }
  ],
  "metadata": {
    "description": "Pay-per-use micropayments: escrowed deposits, off-chain cumulative vouchers, batched claims",
    "name": "micropay",
    "spec": "0.1.0",
    "version": "0.1.0"
  },
  "types": [
    {
      "docs": [
        "PDA `[\"channel\", escrow, generation (u64 LE), id (u64 LE), nonce (u64 LE)]`",
        "(`generation` is the escrow's; see `Escrow::generation`). Opening it moves",
        "`allocation` out of the escrow balance: the channel *is* the commitment.",
        "Vouchers name this address, so they bind the program, payer, mint, escrow",
        "generation, channel id and, through the random nonce, the cluster. The",
        "generation is not stored here (the escrow holds it while the channel exists,",
        "and `ChannelOpened` reports it), which keeps the rented account small."
      ],
      "name": "channel",
      "type": {
        "fields": [
          {
            "docs": [
              "The escrow that funds the channel."
            ],
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "docs": [
              "The escrow's mint (copied so a claim needs no escrow account)."
            ],
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "Wallet whose earnings account claims credit."
            ],
            "name": "creator",
            "type": "pubkey"
          },
          {
            "docs": [
              "Ed25519 key that signs vouchers; may be a session key, not the owner."
            ],
            "name": "signer",
            "type": "pubkey"
          },
          {
            "docs": [
              "Most the channel can ever pay, base units (grows with top-ups)."
            ],
            "name": "allocation",
            "type": "u64"
          },
          {
            "docs": [
              "Cumulative amount paid out by claims, base units; `claimed ≤ allocation`."
            ],
            "name": "claimed",
            "type": "u64"
          },
          {
            "docs": [
              "Wallet whose earnings account receives the dApp fee share;",
              "`Pubkey::default()` when `fee_bps == 0`."
            ],
            "name": "feeRecipient",
            "type": "pubkey"
          },
          {
            "docs": [
              "dApp fee share of every claim, basis points (≤ `MAX_FEE_BPS`), fixed at open."
            ],
            "name": "feeBps",
            "type": "u16"
          },
          {
            "docs": [
              "Seconds the creator has to claim after a close request."
            ],
            "name": "disputeWindowSecs",
            "type": "u32"
          },
          {
            "docs": [
              "Unix timestamp after which the payer may close at once; 0 = never expires."
            ],
            "name": "expiresAt",
            "type": "i64"
          },
          {
            "docs": [
              "Unix timestamp of the payer's close request; 0 = none."
            ],
            "name": "closeRequestedAt",
            "type": "i64"
          },
          {
            "docs": [
              "Channel id within the escrow generation (from `escrow.next_channel_id`)."
            ],
            "name": "id",
            "type": "u64"
          },
          {
            "docs": [
              "Random value chosen by the payer at open; part of the seeds."
            ],
            "name": "nonce",
            "type": "u64"
          },
          {
            "docs": [
              "Canonical bump of this PDA."
            ],
            "name": "bump",
            "type": "u8"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A channel was closed: its unclaimed allocation returned to the escrow balance."
      ],
      "name": "channelClosed",
      "type": {
        "fields": [
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "docs": [
              "Allocation − claimed, returned to the escrow's free balance."
            ],
            "name": "refund",
            "type": "u64"
          },
          {
            "docs": [
              "Cumulative amount the channel paid out."
            ],
            "name": "claimed",
            "type": "u64"
          },
          {
            "name": "escrowBalance",
            "type": "u64"
          },
          {
            "docs": [
              "True when the creator closed it (`creator_close`)."
            ],
            "name": "byCreator",
            "type": "bool"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A channel was opened: `allocation` left the escrow's free balance."
      ],
      "name": "channelOpened",
      "type": {
        "fields": [
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "docs": [
              "The escrow's generation: with `id` and `nonce`, the channel's seeds."
            ],
            "name": "generation",
            "type": "u64"
          },
          {
            "name": "id",
            "type": "u64"
          },
          {
            "name": "nonce",
            "type": "u64"
          },
          {
            "name": "creator",
            "type": "pubkey"
          },
          {
            "name": "signer",
            "type": "pubkey"
          },
          {
            "name": "allocation",
            "type": "u64"
          },
          {
            "name": "feeRecipient",
            "type": "pubkey"
          },
          {
            "name": "feeBps",
            "type": "u16"
          },
          {
            "name": "disputeWindowSecs",
            "type": "u32"
          },
          {
            "docs": [
              "Unix timestamp, 0 when the channel never expires."
            ],
            "name": "expiresAt",
            "type": "i64"
          },
          {
            "docs": [
              "Escrow free balance after the allocation left it."
            ],
            "name": "escrowBalance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "More allocation moved from the escrow into a channel."
      ],
      "name": "channelToppedUp",
      "type": {
        "fields": [
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "name": "amount",
            "type": "u64"
          },
          {
            "name": "allocation",
            "type": "u64"
          },
          {
            "name": "escrowBalance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "claimArgs",
      "type": {
        "fields": [
          {
            "name": "entries",
            "type": {
              "vec": {
                "defined": {
                  "name": "claimEntry"
                }
              }
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "One voucher to settle."
      ],
      "name": "claimEntry",
      "type": {
        "fields": [
          {
            "docs": [
              "Index in the remaining accounts of the channel (writable)."
            ],
            "name": "channelIndex",
            "type": "u8"
          },
          {
            "docs": [
              "Index of the creator's earnings account (writable)."
            ],
            "name": "earningsIndex",
            "type": "u8"
          },
          {
            "docs": [
              "Index of the fee recipient's earnings account, or `NO_ACCOUNT_INDEX`."
            ],
            "name": "feeEarningsIndex",
            "type": "u8"
          },
          {
            "docs": [
              "Cumulative amount the voucher pays, base units."
            ],
            "name": "amount",
            "type": "u64"
          },
          {
            "docs": [
              "Ed25519 signature (R ‖ S) of the voucher message by the channel's signer."
            ],
            "name": "signature",
            "type": {
              "array": [
                "u8",
                64
              ]
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "One event per claim instruction, however many vouchers it settled."
      ],
      "name": "claimed",
      "type": {
        "fields": [
          {
            "name": "settled",
            "type": {
              "vec": {
                "defined": {
                  "name": "settledVoucher"
                }
              }
            }
          },
          {
            "name": "skipped",
            "type": {
              "vec": {
                "defined": {
                  "name": "skippedVoucher"
                }
              }
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "The payer asked to close a channel; the creator has the dispute window to claim."
      ],
      "name": "closeRequested",
      "type": {
        "fields": [
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "name": "requestedAt",
            "type": "i64"
          },
          {
            "docs": [
              "First unix timestamp at which `finalize_close` succeeds."
            ],
            "name": "closableAt",
            "type": "i64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "createSplitArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "The owners and their shares: ascending by owner, each once, each",
              "above 0 bps, summing to 10,000."
            ],
            "name": "recipients",
            "type": {
              "vec": {
                "defined": {
                  "name": "splitRecipient"
                }
              }
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "depositArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Base units of the escrow's mint."
            ],
            "name": "amount",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "Tokens moved from a depositor's token account into the vault."
      ],
      "name": "deposited",
      "type": {
        "fields": [
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "name": "depositor",
            "type": "pubkey"
          },
          {
            "docs": [
              "Base units deposited."
            ],
            "name": "amount",
            "type": "u64"
          },
          {
            "docs": [
              "Escrow free balance after the deposit, base units."
            ],
            "name": "balance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A split's earnings moved to its recipients' earnings accounts."
      ],
      "name": "distributed",
      "type": {
        "fields": [
          {
            "name": "split",
            "type": "pubkey"
          },
          {
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "Everything the split has received so far, base units (for another",
              "mint than the split's: what its earnings account held before)."
            ],
            "name": "received",
            "type": "u64"
          },
          {
            "docs": [
              "Credited to each recipient by this distribution (recipient order; 0",
              "for one whose earnings account was closed: its share waits)."
            ],
            "name": "amounts",
            "type": {
              "vec": "u64"
            }
          },
          {
            "docs": [
              "Each recipient's total distributed after it (empty for another mint",
              "than the split's, of which no record is kept)."
            ],
            "name": "distributed",
            "type": {
              "vec": "u64"
            }
          },
          {
            "docs": [
              "The split's earnings balance after it (the rounding remainder, and",
              "shares waiting for a closed earnings account)."
            ],
            "name": "balance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "PDA `[\"earnings\", owner, mint]`. Anyone may create it (and pay its rent);",
        "claims credit it; only `owner` withdraws from it, and closes it (rent back)",
        "once its balance is zero; anyone may then create it again."
      ],
      "name": "earnings",
      "type": {
        "fields": [
          {
            "docs": [
              "Wallet the earnings belong to (a channel's creator or fee recipient)."
            ],
            "name": "owner",
            "type": "pubkey"
          },
          {
            "docs": [
              "Mint of the balance."
            ],
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "Earned and not withdrawn, base units of `mint`; held in the mint's vault."
            ],
            "name": "balance",
            "type": "u64"
          },
          {
            "docs": [
              "Everything ever credited by claims, base units (statistics; never",
              "decreases, and saturates at `u64::MAX` instead of failing a claim)."
            ],
            "name": "totalEarned",
            "type": "u64"
          },
          {
            "docs": [
              "Canonical bump of this PDA."
            ],
            "name": "bump",
            "type": "u8"
          },
          {
            "docs": [
              "Who paid the account's rent (`init_earnings`' payer): `close_earnings`",
              "returns the rent there, not to the owner, so closing an account",
              "someone else paid for (to make them pay again before a claim) earns",
              "the closer nothing."
            ],
            "name": "rentPayer",
            "type": "pubkey"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "An earnings account with zero balance was closed by its owner (rent back)."
      ],
      "name": "earningsClosed",
      "type": {
        "fields": [
          {
            "name": "earnings",
            "type": "pubkey"
          },
          {
            "name": "owner",
            "type": "pubkey"
          },
          {
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "Its `total_earned` statistic at close."
            ],
            "name": "totalEarned",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A creator (or fee recipient) earnings account was created."
      ],
      "name": "earningsInitialized",
      "type": {
        "fields": [
          {
            "name": "earnings",
            "type": "pubkey"
          },
          {
            "name": "owner",
            "type": "pubkey"
          },
          {
            "name": "mint",
            "type": "pubkey"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "Earnings moved from the vault to a token account of the earnings owner's choice."
      ],
      "name": "earningsWithdrawn",
      "type": {
        "fields": [
          {
            "name": "earnings",
            "type": "pubkey"
          },
          {
            "name": "destination",
            "type": "pubkey"
          },
          {
            "name": "amount",
            "type": "u64"
          },
          {
            "name": "balance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "PDA `[\"escrow\", owner, mint]`."
      ],
      "name": "escrow",
      "type": {
        "fields": [
          {
            "docs": [
              "Wallet that deposits, withdraws, opens and closes channels."
            ],
            "name": "owner",
            "type": "pubkey"
          },
          {
            "docs": [
              "Mint of every amount in this escrow and its channels."
            ],
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "Free balance, base units of `mint`: withdrawable at once, not committed",
              "to any channel."
            ],
            "name": "balance",
            "type": "u64"
          },
          {
            "docs": [
              "Id the next channel gets. Only ever grows within this escrow."
            ],
            "name": "nextChannelId",
            "type": "u64"
          },
          {
            "docs": [
              "Slot in which this escrow was created. It is part of every channel's",
              "seeds, and `close_escrow` needs a later slot, so an escrow re-created for",
              "the same owner and mint always has a higher generation: no channel",
              "address (and so no voucher) of an earlier escrow can ever be derived again."
            ],
            "name": "generation",
            "type": "u64"
          },
          {
            "docs": [
              "Channels of this escrow that exist (opened and not yet closed)."
            ],
            "name": "openChannels",
            "type": "u32"
          },
          {
            "docs": [
              "Canonical bump of this PDA."
            ],
            "name": "bump",
            "type": "u8"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "An escrow without channels was closed: its remaining balance swept to a",
        "token account of the owner's choice, its rent returned to the owner."
      ],
      "name": "escrowClosed",
      "type": {
        "fields": [
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "name": "owner",
            "type": "pubkey"
          },
          {
            "docs": [
              "Free balance moved out of the vault by the close, base units."
            ],
            "name": "swept",
            "type": "u64"
          },
          {
            "docs": [
              "Where the swept balance went (any token account of the mint)."
            ],
            "name": "destination",
            "type": "pubkey"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A payer created an escrow (and, for the first escrow of a mint, its vault)."
      ],
      "name": "escrowInitialized",
      "type": {
        "fields": [
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "name": "owner",
            "type": "pubkey"
          },
          {
            "name": "mint",
            "type": "pubkey"
          },
          {
            "name": "vault",
            "type": "pubkey"
          },
          {
            "docs": [
              "True when this instruction created the mint's vault."
            ],
            "name": "vaultCreated",
            "type": "bool"
          },
          {
            "docs": [
              "The escrow's generation (the slot it was created in; in channel seeds)."
            ],
            "name": "generation",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "initEarningsArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Wallet the earnings will belong to."
            ],
            "name": "owner",
            "type": "pubkey"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "openChannelArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Wallet credited by claims."
            ],
            "name": "creator",
            "type": "pubkey"
          },
          {
            "docs": [
              "Ed25519 key that signs vouchers (a session key, or the owner itself)."
            ],
            "name": "signer",
            "type": "pubkey"
          },
          {
            "docs": [
              "Base units moved from the escrow balance into the channel."
            ],
            "name": "allocation",
            "type": "u64"
          },
          {
            "docs": [
              "dApp fee recipient; `None` for no fee share."
            ],
            "name": "feeRecipient",
            "type": {
              "option": "pubkey"
            }
          },
          {
            "docs": [
              "Fee share in basis points, ≤ `MAX_FEE_BPS`; 0 without fee recipient."
            ],
            "name": "feeBps",
            "type": "u16"
          },
          {
            "docs": [
              "Seconds the creator has to claim after a close request."
            ],
            "name": "disputeWindowSecs",
            "type": "u32"
          },
          {
            "docs": [
              "Unix timestamp after which the payer may close at once; 0 = never."
            ],
            "name": "expiresAt",
            "type": "i64"
          },
          {
            "docs": [
              "Random value; part of the channel's address (binds the cluster)."
            ],
            "name": "nonce",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "One voucher settled by a claim."
      ],
      "name": "settledVoucher",
      "type": {
        "fields": [
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "docs": [
              "Cumulative amount the voucher carried."
            ],
            "name": "voucherAmount",
            "type": "u64"
          },
          {
            "docs": [
              "Newly paid by this voucher: creator part + fee part."
            ],
            "name": "delta",
            "type": "u64"
          },
          {
            "docs": [
              "Credited to the creator's earnings."
            ],
            "name": "creatorAmount",
            "type": "u64"
          },
          {
            "docs": [
              "Credited to the fee recipient's earnings (0 without fee share)."
            ],
            "name": "feeAmount",
            "type": "u64"
          },
          {
            "docs": [
              "Channel's cumulative `claimed` after this voucher."
            ],
            "name": "claimed",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "Why a claim entry settled nothing. None of these fails the batch: each is",
        "something another party may cause (a relayer settling first, a payer",
        "finalizing first, an earnings account closed by its owner)."
      ],
      "name": "skipReason",
      "type": {
        "kind": "enum",
        "variants": [
          {
            "name": "notAhead"
          },
          {
            "name": "channelClosed"
          },
          {
            "name": "earningsMissing"
          },
          {
            "name": "feeEarningsMissing"
          }
        ]
      }
    },
    {
      "docs": [
        "A claim entry that settled nothing, and why."
      ],
      "name": "skippedVoucher",
      "type": {
        "fields": [
          {
            "name": "channel",
            "type": "pubkey"
          },
          {
            "name": "voucherAmount",
            "type": "u64"
          },
          {
            "docs": [
              "Channel's `claimed` (0 when the channel does not exist)."
            ],
            "name": "claimed",
            "type": "u64"
          },
          {
            "name": "reason",
            "type": {
              "defined": {
                "name": "skipReason"
              }
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "PDA `[\"split\", mint, sha256(recipients)]` (recipients Borsh-encoded, in",
        "ascending order of owner): one address per set of shares and mint, created",
        "once by anyone and never changed. A channel pays a split as it pays a",
        "creator (`channel.creator` is the split's address): claims credit the",
        "split's own earnings account `[\"earnings\", split, mint]`, which only",
        "`distribute` empties (a PDA cannot sign a withdrawal)."
      ],
      "name": "split",
      "type": {
        "fields": [
          {
            "docs": [
              "Mint of everything this split receives and pays."
            ],
            "name": "mint",
            "type": "pubkey"
          },
          {
            "docs": [
              "The owners and their shares: 1 to 32, in strictly ascending order of",
              "owner (so each appears once), shares summing to 10,000 bps."
            ],
            "name": "recipients",
            "type": {
              "vec": {
                "defined": {
                  "name": "splitRecipient"
                }
              }
            }
          },
          {
            "docs": [
              "Base units distributed to each recipient so far (same order). After a",
              "distribution each is `floor(received × bps / 10,000)` of the split's",
              "total received, whatever the number of distributions before."
            ],
            "name": "distributed",
            "type": {
              "vec": "u64"
            }
          },
          {
            "docs": [
              "Canonical bump of this PDA."
            ],
            "name": "bump",
            "type": "u8"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "A split was created: from now on it pays `recipients` their shares of",
        "everything its earnings account receives."
      ],
      "name": "splitCreated",
      "type": {
        "fields": [
          {
            "name": "split",
            "type": "pubkey"
          },
          {
            "name": "mint",
            "type": "pubkey"
          },
          {
            "name": "recipients",
            "type": {
              "vec": {
                "defined": {
                  "name": "splitRecipient"
                }
              }
            }
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "One owner of a split and its share."
      ],
      "name": "splitRecipient",
      "type": {
        "fields": [
          {
            "docs": [
              "Wallet that receives this share (its earnings account for the mint)."
            ],
            "name": "owner",
            "type": "pubkey"
          },
          {
            "docs": [
              "Share, basis points of everything the split receives (> 0)."
            ],
            "name": "bps",
            "type": "u16"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "topUpChannelArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Base units moved from the escrow balance into the channel."
            ],
            "name": "amount",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "withdrawArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Base units; at most the escrow's free balance."
            ],
            "name": "amount",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "name": "withdrawEarningsArgs",
      "type": {
        "fields": [
          {
            "docs": [
              "Base units; at most the earnings balance."
            ],
            "name": "amount",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    },
    {
      "docs": [
        "The escrow owner took free balance out of the vault."
      ],
      "name": "withdrawn",
      "type": {
        "fields": [
          {
            "name": "escrow",
            "type": "pubkey"
          },
          {
            "name": "destination",
            "type": "pubkey"
          },
          {
            "name": "amount",
            "type": "u64"
          },
          {
            "name": "balance",
            "type": "u64"
          }
        ],
        "kind": "struct"
      }
    }
  ]
};
