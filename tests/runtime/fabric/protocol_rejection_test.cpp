// The wire decoder against hostile input: every malformed frame is refused
// with the right error code and a message that names the problem; sizes,
// depth and time stay bounded; nothing throws.
#include "tests/runtime/fabric/protocol_test_support.hpp"

BOOST_AUTO_TEST_SUITE(protocol_rejection_test)

BOOST_AUTO_TEST_CASE(wrong_version_byte_is_bad_version_naming_both_versions) {
  auto body = nested_body(0);
  for (unsigned v : {0u, 1u, 3u, 9u, 255u}) {
    auto r = proto::decode_frame(byte(v) + type_byte(msg_type::request) + body);
    check_refused(r, errc::bad_version,
                  {"version " + std::to_string(v), "speaks version " + std::to_string(proto::version)},
                  "version " + std::to_string(v));
  }
  // The version is judged before anything else, even an unknown type or a junk body.
  check_refused(proto::decode_frame(byte(9) + byte(200) + "\xc1"), errc::bad_version, {"version 9"},
                "version before type");
  check_refused(proto::decode_frame(byte(9)), errc::bad_version, {"version 9"}, "version alone");
}

BOOST_AUTO_TEST_CASE(frame_needs_version_and_type_bytes) {
  check_refused(proto::decode_frame(""), errc::bad_frame, {"empty frame"}, "empty frame");
  check_refused(proto::decode_frame(ver()), errc::bad_frame, {"ends after the version byte"}, "version only");
}

BOOST_AUTO_TEST_CASE(type_byte_must_be_known) {
  auto body = nested_body(0);
  for (unsigned t : {3u, 9u, 17u, 128u, 255u})
    check_refused(proto::decode_frame(ver() + byte(t) + body), errc::bad_frame,
                  {"unknown message type " + std::to_string(t)}, "type " + std::to_string(t));
  // A known type with nothing after it is an empty (truncated) body.
  check_refused(proto::decode_frame(wire(msg_type::request, "")), errc::bad_frame, {"truncated"}, "no body");
}

// --- body shape ---

BOOST_AUTO_TEST_CASE(body_must_be_a_map) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"array", mp([](packer& pk) { pk.pack_array(1); pk.pack(1); })},
      {"string", mp([](packer& pk) { str(pk, "cid"); })},
      {"nil", mp([](packer& pk) { pk.pack_nil(); })},
      {"int", mp([](packer& pk) { pk.pack(7); })},
      {"float", mp([](packer& pk) { pk.pack(1.5); })},
  };
  for (const auto& [what, body] : cases)
    check_refused(decode(body), errc::bad_frame, {"must be a msgpack map"}, what);
}

BOOST_AUTO_TEST_CASE(truncated_msgpack_is_refused) {
  check_refused(decode(""), errc::bad_frame, {"truncated"}, "empty body");
  proto::envelope env;
  env.cid = 1;
  env.trace = trace_a;
  env.span = span_a;
  env.fields = fields_for(msg_type::request);
  auto body = body_of(env);
  BOOST_REQUIRE(decode(body).ok());
  // Every strict prefix is refused, and never accepted as a shorter message.
  for (std::size_t len = 0; len < body.size(); ++len) {
    auto r = decode(body.substr(0, len));
    BOOST_TEST_CONTEXT("prefix of " << len << " of " << body.size() << " bytes") {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.err().code == errc::bad_frame);
      BOOST_TEST(contains(r.err().message, "truncated"), r.err().message);
    }
  }
  // A string header that promises more bytes than follow.
  auto short_str = body_with_x([](packer& pk) { pk.pack_str(10); pk.pack_str_body("abc", 3); });
  check_refused(decode(short_str), errc::bad_frame, {"truncated"}, "short string");
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_refused_with_their_count) {
  auto body = nested_body(0);
  BOOST_REQUIRE(decode(body).ok());
  check_refused(decode(body + "\xc0"), errc::bad_frame, {"1 trailing bytes"}, "one nil after the map");
  check_refused(decode(body + body), errc::bad_frame, {std::to_string(body.size()) + " trailing bytes"},
                "two messages in one frame");
}

BOOST_AUTO_TEST_CASE(invalid_msgpack_is_refused) {
  // 0xc1 is the one byte msgpack never uses.
  check_refused(decode("\xc1"), errc::bad_frame, {"not valid msgpack"}, "0xc1 as body");
  auto inner = body_with_x([](packer& pk) { pk.pack_nil(); });
  inner.back() = '\xc1';
  check_refused(decode(inner), errc::bad_frame, {"not valid msgpack"}, "0xc1 as a value");
}

// --- limits ---

BOOST_AUTO_TEST_CASE(depth_is_bounded_by_max_depth) {
  proto::limits lim;
  lim.max_depth = 4;
  // The body map is level 1, so 3 arrays inside it reach exactly 4 levels.
  auto r = decode(nested_body(3), msg_type::request, lim);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->fields["x"] == json::parse("[[[null]]]"));
  check_refused(decode(nested_body(4), msg_type::request, lim), errc::bad_frame, {"deeper than 4 levels"},
                "5 levels with max_depth 4");
  // Maps count as levels too.
  auto maps = body_with_x([](packer& pk) {
    for (int i = 0; i < 4; ++i) {
      pk.pack_map(1);
      str(pk, "k");
    }
    pk.pack_nil();
  });
  check_refused(decode(maps, msg_type::request, lim), errc::bad_frame, {"deeper than 4 levels"}, "nested maps");

  // Default limits: 32 levels.
  BOOST_TEST(proto::limits{}.max_depth == 32u);
  BOOST_TEST(decode(nested_body(31)).ok());
  check_refused(decode(nested_body(32)), errc::bad_frame, {"deeper than 32 levels"}, "33 levels by default");
  check_refused(decode(nested_body(100000)), errc::bad_frame, {"deeper than 32 levels"}, "100000 levels");
}

BOOST_AUTO_TEST_CASE(containers_are_bounded_by_max_container) {
  proto::limits lim;
  lim.max_container = 8;
  auto array_of = [](std::uint32_t n) {
    return body_with_x([&](packer& pk) {
      pk.pack_array(n);
      for (std::uint32_t i = 0; i < n; ++i) pk.pack(i);
    });
  };
  auto r = decode(array_of(8), msg_type::request, lim);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->fields["x"].size() == 8u);
  check_refused(decode(array_of(9), msg_type::request, lim), errc::bad_frame, {"container", "limits"},
                "array of 9");
  auto map_of = [](std::uint32_t n) {
    return body_with_x([&](packer& pk) {
      pk.pack_map(n);
      for (std::uint32_t i = 0; i < n; ++i) {
        str(pk, "k" + std::to_string(i));
        pk.pack(i);
      }
    });
  };
  BOOST_TEST(decode(map_of(8), msg_type::request, lim).ok());
  check_refused(decode(map_of(9), msg_type::request, lim), errc::bad_frame, {"container", "limits"}, "map of 9");
  // The body map is a container too: 3 ids + 6 more keys.
  auto wide = mp([](packer& pk) {
    header(pk, 6);
    for (int i = 0; i < 6; ++i) {
      str(pk, "f" + std::to_string(i));
      pk.pack_nil();
    }
  });
  check_refused(decode(wide, msg_type::request, lim), errc::bad_frame, {"container", "limits"}, "wide body map");
  // A header that claims 4 billion elements is refused before anything is allocated.
  auto huge = body_with_x([](packer& pk) { pk.pack_array(0xffffffffu); });
  check_refused(decode(huge), errc::bad_frame, {"container", "limits"}, "array32 of 2^32-1");
  auto huge_map = body_with_x([](packer& pk) { pk.pack_map(0xffffffffu); });
  check_refused(decode(huge_map), errc::bad_frame, {"container", "limits"}, "map32 of 2^32-1");
}

BOOST_AUTO_TEST_CASE(body_size_is_bounded_by_max_body_bytes) {
  auto body_of_size = [](std::size_t total) {
    // header + "x" + str8/str16 header: pad the string until the body has `total` bytes.
    std::string base = body_with_x([](packer& pk) { str(pk, ""); });
    std::size_t pad = total - base.size();
    std::string b = body_with_x([&](packer& pk) { str(pk, std::string(pad, 'p')); });
    // The length header may have grown by a byte or two; shrink the padding to compensate.
    if (b.size() > total) b = body_with_x([&](packer& pk) { str(pk, std::string(pad - (b.size() - total), 'p')); });
    return b;
  };
  proto::limits lim;
  lim.max_body_bytes = 200;
  auto exact = body_of_size(200);
  BOOST_REQUIRE(exact.size() == 200u);
  BOOST_TEST(decode(exact, msg_type::request, lim).ok());
  auto over = body_of_size(201);
  BOOST_REQUIRE(over.size() == 201u);
  check_refused(decode(over, msg_type::request, lim), errc::bad_frame, {"201 bytes", "limit of 200"},
                "201 bytes with a 200 limit");
  // The size check does not depend on the content: junk that is too big is refused as too big.
  check_refused(decode(std::string(201, '\xc1'), msg_type::request, lim), errc::bad_frame, {"201 bytes"},
                "oversized junk");

  // Default: 1 MiB.
  const std::size_t mib = 1u << 20;
  auto big = body_of_size(mib);
  BOOST_REQUIRE(big.size() == mib);
  BOOST_TEST(decode(big).ok());
  check_refused(decode(body_of_size(mib + 1)), errc::bad_frame, {std::to_string(mib + 1) + " bytes"},
                "1 MiB + 1");
}

// --- cid / trace / span ---

BOOST_AUTO_TEST_CASE(cid_must_be_an_unsigned_integer) {
  auto with_cid = [](auto&& write_cid) {
    return mp([&](packer& pk) {
      pk.pack_map(2);
      str(pk, "cid");
      write_cid(pk);
      str(pk, "trace");
      str(pk, trace_a);
    });
  };
  auto missing = mp([](packer& pk) {
    pk.pack_map(1);
    str(pk, "trace");
    str(pk, trace_a);
  });
  check_refused(decode(missing), errc::bad_frame, {"\"cid\"", "unsigned integer"}, "missing cid");
  check_refused(decode(with_cid([](packer& pk) { pk.pack(-1); })), errc::bad_frame, {"\"cid\""}, "cid -1");
  // float64 1.0 written by hand: msgpack-c's pack(double) would write an integral double as an int.
  check_refused(decode(with_cid([](packer& pk) { pk.pack_nil(); }).replace(5, 1, std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9))),
                errc::bad_frame, {"\"cid\""}, "cid 1.0 float64");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_double(0.5); })), errc::bad_frame, {"\"cid\""},
                "cid 0.5");
  check_refused(decode(with_cid([](packer& pk) { str(pk, "7"); })), errc::bad_frame, {"\"cid\""}, "cid string");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"cid\""}, "cid nil");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_true(); })), errc::bad_frame, {"\"cid\""}, "cid bool");
  check_refused(decode(with_cid([](packer& pk) { pk.pack_array(0); })), errc::bad_frame, {"\"cid\""}, "cid []");

  auto zero = decode(with_cid([](packer& pk) { pk.pack(0u); }));
  BOOST_REQUIRE(zero.ok());
  BOOST_TEST(zero->cid == 0u);
  auto max = decode(with_cid([](packer& pk) { pk.pack(std::numeric_limits<std::uint64_t>::max()); }));
  BOOST_REQUIRE(max.ok());
  BOOST_TEST(max->cid == std::numeric_limits<std::uint64_t>::max());
  // A non-negative value in a signed encoding (int64 0xd3) is still a valid cid.
  auto signed_enc = decode(with_cid([](packer& pk) { pk.pack_int64(300); }));
  BOOST_REQUIRE(signed_enc.ok());
  BOOST_TEST(signed_enc->cid == 300u);
}

BOOST_AUTO_TEST_CASE(trace_must_be_32_lower_case_hex) {
  auto with_trace = [](auto&& write_trace) {
    return mp([&](packer& pk) {
      pk.pack_map(2);
      str(pk, "cid");
      pk.pack(1);
      str(pk, "trace");
      write_trace(pk);
    });
  };
  auto missing = mp([](packer& pk) {
    pk.pack_map(1);
    str(pk, "cid");
    pk.pack(1);
  });
  check_refused(decode(missing), errc::bad_frame, {"\"trace\"", "32 lower-case hex"}, "missing trace");
  std::vector<std::string> bad = {"",
                                  trace_a.substr(0, 31),
                                  trace_a + "0",
                                  "0123456789ABCDEF0123456789ABCDEF",
                                  "0123456789abcdef0123456789abcdeg",
                                  "0123456789abcdef 123456789abcdef",
                                  std::string(31, 'a') + std::string(1, '\0')};
  for (const auto& t : bad)
    check_refused(decode(with_trace([&](packer& pk) { str(pk, t); })), errc::bad_frame,
                  {"\"trace\"", "32 lower-case hex"}, "trace '" + t + "'");
  check_refused(decode(with_trace([](packer& pk) { pk.pack(12345); })), errc::bad_frame, {"\"trace\""},
                "trace as int");
  check_refused(decode(with_trace([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"trace\""},
                "trace nil");
  auto ok = decode(with_trace([](packer& pk) { str(pk, std::string(32, 'f')); }));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->trace == std::string(32, 'f'));
  BOOST_TEST(ok->span.empty());
}

BOOST_AUTO_TEST_CASE(span_must_be_16_lower_case_hex_when_present) {
  auto with_span = [](auto&& write_span) {
    return mp([&](packer& pk) {
      pk.pack_map(3);
      str(pk, "cid");
      pk.pack(1);
      str(pk, "trace");
      str(pk, trace_a);
      str(pk, "span");
      write_span(pk);
    });
  };
  for (const std::string s : {"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeX"})
    check_refused(decode(with_span([&](packer& pk) { str(pk, s); })), errc::bad_frame,
                  {"\"span\"", "16 lower-case hex"}, "span '" + s + "'");
  check_refused(decode(with_span([](packer& pk) { pk.pack(5); })), errc::bad_frame, {"\"span\""}, "span int");
  check_refused(decode(with_span([](packer& pk) { pk.pack_nil(); })), errc::bad_frame, {"\"span\""}, "span nil");
  auto ok = decode(with_span([](packer& pk) { str(pk, span_a); }));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->span == span_a);
}

// --- JSON subset ---

BOOST_AUTO_TEST_CASE(map_keys_must_be_strings) {
  auto top = mp([](packer& pk) {
    header(pk, 1);
    pk.pack(5);
    pk.pack_nil();
  });
  check_refused(decode(top), errc::bad_frame, {"map key is not a string"}, "int key in the body");
  auto nested = body_with_x([](packer& pk) {
    pk.pack_array(2);
    pk.pack_nil();
    pk.pack_map(1);
    pk.pack_true();
    pk.pack(1);
  });
  // The message says where: body.x[1].
  check_refused(decode(nested), errc::bad_frame, {"body.x[1]", "map key is not a string"}, "bool key deep inside");
  auto bin_key = body_with_x([](packer& pk) {
    pk.pack_map(1);
    pk.pack_bin(1);
    pk.pack_bin_body("k", 1);
    pk.pack(1);
  });
  check_refused(decode(bin_key), errc::bad_frame, {"body.x", "map key is not a string"}, "bin key");
}

BOOST_AUTO_TEST_CASE(bin_values_are_refused_with_their_path) {
  auto b = body_with_x([](packer& pk) {
    pk.pack_map(1);
    str(pk, "blob");
    pk.pack_bin(3);
    pk.pack_bin_body("abc", 3);
  });
  check_refused(decode(b), errc::bad_frame, {"body.x.blob", "binary values are not supported"}, "bin");
}

BOOST_AUTO_TEST_CASE(ext_values_are_refused) {
  for (std::uint32_t len : {1u, 4u, 20u}) {
    auto b = body_with_x([&](packer& pk) {
      pk.pack_ext(len, 7);
      pk.pack_ext_body(std::string(len, 'e').data(), len);
    });
    auto r = decode(b);
    BOOST_TEST_CONTEXT("ext of " << len << " bytes") {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.err().code == errc::bad_frame);
      // Regression (fixed in 8bfc1ac): with an ext unpack limit of 0, msgpack-c refused
      // ext as "a container or string larger than the limits", not naming the problem.
      BOOST_TEST(contains(r.err().message, "body.x: ext values are not supported"), "message: " << r.err().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_messages_stay_short_with_huge_keys) {
  const std::string key(100000, 'k');
  auto b = body_with_x([&](packer& pk) {
    pk.pack_map(1);
    str(pk, key);
    pk.pack_array(1);
    pk.pack_bin(0);
  });
  auto r = decode(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::bad_frame);
  BOOST_TEST(contains(r.err().message, "binary values are not supported"), r.err().message);
  BOOST_TEST(r.err().message.rfind("body.x.kkk", 0) == 0u, r.err().message.substr(0, 80));
  // The message is one line for a person, not a copy of the hostile input.
  BOOST_TEST(r.err().message.size() < 300u, "message of " << r.err().message.size() << " bytes");
}

// --- robustness ---

BOOST_AUTO_TEST_CASE(random_and_mutated_input_never_throws) {
  std::mt19937 rng(20240611);
  proto::envelope env;
  env.cid = 77;
  env.trace = trace_a;
  env.span = span_a;
  env.fields = fields_for(msg_type::task);
  const auto valid = body_of(env);
  proto::limits small;
  small.max_depth = 3;
  small.max_container = 4;
  small.max_body_bytes = 512;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      body.resize(rng() % 64);
      for (auto& c : body) c = static_cast<char>(rng());
    } else {
      body = valid;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
        body[rng() % body.size()] = static_cast<char>(rng());
    }
    const proto::limits lim = (i % 3 == 0) ? small : proto::limits{};
    auto step = [&] {
      auto r = proto::decode_frame(wire(msg_type::task, body), lim);
      if (r.ok()) {
        ++accepted;
        BOOST_CHECK(lower_hex(r->trace, 32));
        BOOST_CHECK(r->span.empty() || lower_hex(r->span, 16));
        BOOST_CHECK(r->fields.is_object());
      } else {
        BOOST_CHECK(r.err().code == errc::bad_frame);
        BOOST_CHECK(!r.err().message.empty());
      }
    };
    BOOST_CHECK_NO_THROW(step());
  }
  BOOST_TEST(accepted > 0);  // some mutations hit only values, so the harness does reach the success path
}

// A path string is built for every value while converting; a long key makes each
// of those copies long. Decoding must stay roughly linear in the body size.
BOOST_AUTO_TEST_CASE(decode_time_is_linear_in_body_size) {
  const std::size_t key_len = 400000, elements = 600000;
  auto build = [&](bool long_key) {
    return mp([&](packer& pk) {
      header(pk, 2);
      // Same bytes either way: a long key with a short string, or a short key with a long string.
      str(pk, long_key ? std::string(key_len, 'k') : std::string("k"));
      pk.pack_array(static_cast<std::uint32_t>((elements + 59999) / 60000));
      for (std::size_t left = elements; left > 0;) {
        std::size_t n = std::min<std::size_t>(left, 60000);
        pk.pack_array(static_cast<std::uint32_t>(n));
        for (std::size_t i = 0; i < n; ++i) pk.pack_nil();
        left -= n;
      }
      str(pk, "pad");
      str(pk, long_key ? std::string("p") : std::string(key_len, 'p'));
    });
  };
  auto time_ms = [](const std::string& body) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = decode(body);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST(r.ok());
    return ms;
  };
  auto benign = build(false), hostile = build(true);
  BOOST_REQUIRE(benign.size() == hostile.size());
  BOOST_REQUIRE(hostile.size() <= proto::limits{}.max_body_bytes);
  auto benign_ms = time_ms(benign);
  auto hostile_ms = time_ms(hostile);
  BOOST_TEST_MESSAGE("decode of " << hostile.size() << " bytes: benign " << benign_ms << " ms, long key "
                                  << hostile_ms << " ms");
  // Regression (fixed in 8bfc1ac): convert() used to build `path + "[" + i + "]"` for
  // every value, even on success, so one 400 KB key over 600k small values copied
  // ~240 GB of path text: about 10 s per 1 MiB frame, quadratic in max_body_bytes.
  BOOST_TEST(hostile_ms <= 4 * benign_ms + 1000,
             "long key: " << hostile_ms << " ms vs " << benign_ms << " ms for the same size");
}

BOOST_AUTO_TEST_SUITE_END()
