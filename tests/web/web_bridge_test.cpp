// The bridge in one process with a real relay over QUIC and real WebSockets on 127.0.0.1:
// browsers that send garbage, wrong sizes, bad control or floods are closed with a reason,
// and a well-behaved one beside them keeps its call; pages, files and metrics are served.
#include "web/web_bridge.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "crypto/identity.h"
#include "proto/hex.h"
#include "relay/relay_server.h"
#include "transport/quic.h"
#include "transport/tls_identity.h"
#include "web/control_message.h"

namespace wzp::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// The relay and the bridge run on their own thread; the test talks to them with blocking
// sockets, as a browser would.
struct Stack {
  // First, so that it outlives the loop: pages still queued in it log as they go.
  std::mutex log_mutex;
  std::vector<std::string> log;  // the bridge's page events, as wzp-web writes them
  asio::io_context io;
  crypto::Identity relay_id = crypto::Identity::generate();
  relay::RelayServer relay{io, relay_id, [] {
                             relay::RelayConfig c;
                             c.log = [](const std::string&) {};
                             return c;
                           }()};
  transport::QuicServer quic{io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                             transport::generate_certificate("relay"), relay};
  std::filesystem::path state =
      std::filesystem::temp_directory_path() / ("wzp-web-test-" + std::to_string(getpid()));
  std::unique_ptr<WebBridge> bridge;
  std::thread thread;
  std::string logged() {
    std::lock_guard lock(log_mutex);
    std::string all;
    for (const auto& l : log) all += l + "\n";
    return all;
  }
  explicit Stack(std::optional<transport::TlsCertificate> tls = std::nullopt) {
    BridgeConfig c;
    if (tls) c.tls = {{tls->cert_pem, tls->key_pem}};
    c.listen = {asio::ip::make_address("127.0.0.1"), 0};
    c.relay = "127.0.0.1:" + std::to_string(quic.local_endpoint().port());
    c.web_root = WZP_WEB_ROOT;
    c.state_dir = state;
    c.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex);
      log.push_back(line);
    };
    std::filesystem::create_directories(state);
    bridge = std::make_unique<WebBridge>(io, c);
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Stack() {
    io.stop();
    thread.join();
    std::filesystem::remove_all(state);
  }
  uint16_t port() const { return bridge->local_endpoint().port(); }
};

struct Browser {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  // `origin`: the page the handshake says it comes from, as a browser sends it ("" sends none).
  explicit Browser(uint16_t port, const std::string& room = "t", const std::string& origin = "") {
    tcp::resolver r(io);
    asio::connect(ws.next_layer(), r.resolve("127.0.0.1", std::to_string(port)));
    if (!origin.empty()) {
      ws.set_option(websocket::stream_base::decorator(
          [origin](websocket::request_type& req) { req.set(http::field::origin, origin); }));
    }
    ws.handshake("127.0.0.1:" + std::to_string(port), "/ws/" + room);
  }
  // Reads until the bridge closes; returns its reason ("" if it did not close within time).
  std::string closed_reason() {
    // Async reads on our own io_context, bounded by a deadline: a sync read would wait forever.
    beast::flat_buffer b;
    beast::error_code ec;
    bool done = false;
    std::function<void()> next = [&] {
      ws.async_read(b, [&](beast::error_code e, size_t) {
        b.consume(b.size());
        if (e) {
          ec = e;
          done = true;
          return;
        }
        next();
      });
    };
    next();
    io.restart();
    io.run_for(std::chrono::seconds(10));
    if (!done) return {};
    return ec == websocket::error::closed ? std::string(ws.reason().reason.c_str()) : std::string();
  }
};

std::string get(uint16_t port, const std::string& target, unsigned* status = nullptr) {
  asio::io_context io;
  beast::tcp_stream s(io);
  tcp::resolver r(io);
  s.connect(r.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  if (status) *status = res.result_int();
  return res.body();
}

TEST(WebBridge, MisbehavingBrowsersAreClosedWithAReasonOthersKeepTheirCall) {
  Stack s;
  Browser good(s.port()), partner(s.port());
  // A good browser sends proper 20 ms frames; the partner in the room makes it a call.
  std::vector<uint8_t> frame(1920, 0);
  good.ws.binary(true);
  for (int i = 0; i < 5; ++i) good.ws.write(asio::buffer(frame));

  Browser wrong_size(s.port());
  wrong_size.ws.binary(true);
  wrong_size.ws.write(asio::buffer(std::vector<uint8_t>(100, 1)));
  EXPECT_EQ(wrong_size.closed_reason(), "bad audio frame: 100 bytes, expected 1920");

  Browser bad_json(s.port());
  bad_json.ws.text(true);
  bad_json.ws.write(asio::buffer(std::string("{{{ not json")));
  EXPECT_EQ(bad_json.closed_reason(), "bad control message: expected a JSON object with a type");

  Browser flood(s.port());
  flood.ws.binary(true);
  beast::error_code ec;
  for (int i = 0; i < 400 && !ec; ++i) flood.ws.write(asio::buffer(frame), ec);
  EXPECT_NE(flood.closed_reason().find("too many messages"), std::string::npos);

  // The good one is still there and still being served.
  for (int i = 0; i < 5; ++i) good.ws.write(asio::buffer(frame), ec);
  EXPECT_FALSE(ec) << ec.message();
  const std::string metrics = get(s.port(), "/metrics");
  EXPECT_NE(metrics.find("wzp_web_errors_total{reason=\"bad_frame\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("wzp_web_errors_total{reason=\"bad_control\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("wzp_web_errors_total{reason=\"flood\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("wzp_web_connections 2"), std::string::npos) << metrics;
  const auto file = s.state / "metrics.txt";
  std::ofstream(file) << metrics;
  EXPECT_EQ(std::system(("promtool check metrics < " + file.string()).c_str()), 0);
  // The log says which page was cut off and why, beside every page's join.
  const std::string log = s.logged();
  EXPECT_NE(
      log.find(
          R"("event":"page_closed","page":3,"reason":"bad audio frame: 100 bytes, expected 1920")"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find(R"("event":"page_join","fingerprint":)"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 5 + 3 + 3)
      << log;  // 5 joins; 3 cut off, and gone
}

// Another website the visitor has open tries to join a call through the visitor's bridge
// (cross-site WebSocket hijacking): its page's origin is refused before any participant
// exists; the bridge's own page, and an origin the operator allowed, get in.
TEST(WebBridge, AnotherSitesPageCannotOpenACall) {
  Stack s;
  const std::string own = "http://127.0.0.1:" + std::to_string(s.port());
  EXPECT_THROW(Browser(s.port(), "t", "http://evil.example"), boost::system::system_error);
  EXPECT_THROW(Browser(s.port(), "t", "http://127.0.0.1:1"), boost::system::system_error);
  EXPECT_NO_THROW(Browser(s.port(), "t", own));
  const std::string metrics = get(s.port(), "/metrics");
  EXPECT_NE(metrics.find(R"(wzp_web_errors_total{reason="origin"} 2)"), std::string::npos);
}

TEST(WebBridge, APageExpectingWhatIsNotAFingerprintIsRefusedAtTheHandshake) {
  Stack s;
  EXPECT_THROW(Browser(s.port(), "t?expect=alice"), boost::system::system_error);
  EXPECT_NO_THROW(
      Browser(s.port(), "t?expect=0a1b%3A2c3d%3A4e5f%3A6a7b%3A8c9d%3A0e1f%3A2a3b%3A4c5d"));
}

TEST(WebBridge, ServesThePageItsFilesAndNothingElse) {
  Stack s;
  unsigned status = 0;
  EXPECT_NE(get(s.port(), "/some-room", &status).find("<title>WarzonePhone</title>"),
            std::string::npos);
  EXPECT_EQ(status, 200u);
  EXPECT_NE(get(s.port(), "/static/app.js", &status).find("AudioWorklet"), std::string::npos);
  EXPECT_EQ(status, 200u);
  get(s.port(), "/static/..%2f..%2fetc%2fpasswd", &status);
  EXPECT_EQ(status, 404u);
  get(s.port(), "/static/../CMakeLists.txt", &status);
  EXPECT_EQ(status, 404u);
  get(s.port(), "/not/a/room", &status);
  EXPECT_EQ(status, 404u);
  // A health check for load balancers and systemd watchers (it used to be a room page).
  EXPECT_EQ(get(s.port(), "/healthz", &status), "{\"status\":\"ok\",\"browsers\":0}\n");
  EXPECT_EQ(status, 200u);
}

// With a certificate (wzp-web --tls-cert/--tls-key) the same port speaks HTTPS and WSS: the
// health check answers and a page's WebSocket handshake is accepted; plain HTTP is not served.
TEST(WebBridge, ServesHttpsAndSecureWebSocketsWithACertificate) {
  Stack s(transport::generate_certificate("bridge"));
  const auto exchange = [&](const std::string& request) {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);  // a self-signed certificate
    asio::ssl::stream<tcp::socket> tls(io, ctx);
    tls.next_layer().connect({asio::ip::make_address("127.0.0.1"), s.port()});
    tls.handshake(asio::ssl::stream_base::client);
    asio::write(tls, asio::buffer(request));
    std::string head;
    boost::system::error_code ec;
    asio::read_until(tls, asio::dynamic_buffer(head), "\r\n\r\n", ec);
    return head;
  };
  const std::string host = "Host: 127.0.0.1:" + std::to_string(s.port()) + "\r\n";
  const auto health = exchange("GET /healthz HTTP/1.1\r\n" + host + "\r\n");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  const auto upgrade = exchange("GET /ws/t HTTP/1.1\r\n" + host +
                                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "Origin: https://127.0.0.1:" +
                                std::to_string(s.port()) + "\r\n\r\n");
  EXPECT_EQ(upgrade.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << upgrade;
  EXPECT_NE(upgrade.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos)
      << upgrade;
  unsigned status = 0;
  EXPECT_THROW(get(s.port(), "/healthz", &status), boost::system::system_error);
}

TEST(WebControl, ParsesWhatThePageSendsAndRefusesTheRest) {
  EXPECT_EQ(std::get<SwitchRelay>(parse_control(R"({"type":"relay","relay":"h:1"})")).relay, "h:1");
  EXPECT_TRUE(std::get<SetMute>(parse_control(R"({"type":"mute","on":true})")).on);
  EXPECT_TRUE(std::holds_alternative<BadControl>(parse_control(R"({"type":"mute","on":1})")));
  EXPECT_TRUE(std::holds_alternative<BadControl>(parse_control(R"({"type":"dance"})")));
  // A member's volume in this page's mix: a fingerprint and a gain from 0 to 4, nothing else.
  const std::string fp = "0a1b:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d";
  const auto v = std::get<SetVolume>(
      parse_control(R"({"type":"volume","fingerprint":")" + fp + R"(","gain":0.5})"));
  EXPECT_EQ(v.fingerprint, fp);
  EXPECT_EQ(v.gain, 0.5);
  for (const std::string& bad : {std::string(R"({"type":"volume","fingerprint":"alice","gain":1})"),
                                 R"({"type":"volume","fingerprint":")" + fp + R"(","gain":-1})",
                                 R"({"type":"volume","fingerprint":")" + fp + R"(","gain":5})",
                                 R"({"type":"volume","fingerprint":")" + fp + R"(","gain":"1"})",
                                 R"({"type":"volume","fingerprint":")" + fp + R"("})"}) {
    EXPECT_TRUE(std::holds_alternative<BadControl>(parse_control(bad))) << bad;
  }
  EXPECT_TRUE(std::holds_alternative<BadControl>(parse_control("[]")));
  EXPECT_TRUE(valid_room("ops-2.b_c"));
  EXPECT_FALSE(valid_room(""));
  EXPECT_FALSE(valid_room("a/b"));
  EXPECT_FALSE(valid_room(std::string(65, 'a')));
  EXPECT_FALSE(valid_room("healthz"));  // the bridge's own paths
  EXPECT_FALSE(valid_room("metrics"));
}

// What a page's WebSocket URL asks for. The expect= list (its key to these alone):
// percent-encoded or not, bounded, and anything that is not a fingerprint is refused by name
// rather than silently matching nobody. The secret= of an invite-only room: 32 hex digits.
TEST(WebControl, AJoinTakesFingerprintsOnlyAtMostSixteenASecretAPrintableNameAndASeed) {
  const std::string a = "0a1b:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d",
                    b = "ffff:0000:1111:2222:3333:4444:5555:6666";
  using List = std::vector<std::string>;
  const auto expect = [](const std::string& q) {
    return std::get<JoinRequest>(parse_join("ops", q)).expect;
  };
  const auto refused = [](const std::string& q) {
    return std::get<BadControl>(parse_join("ops", q)).reason;
  };
  EXPECT_EQ(expect(""), List{});
  EXPECT_EQ(expect("processing=off"), List{});
  EXPECT_EQ(expect("expect=" + a + "," + b), (List{a, b}));
  EXPECT_EQ(expect("x=1&expect=0a1b%3A2c3d%3a4e5f:6a7b:8c9d:0e1f:2a3b:4c5d%2C"), List{a});
  EXPECT_EQ(refused("expect=alice"), "expect: 'alice' is not a fingerprint");
  EXPECT_EQ(refused("expect=" + a + "%2"), "expect: a broken %-escape");
  EXPECT_EQ(refused("expect=0A1B:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d"),
            "expect: '0A1B:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d' is not a fingerprint");
  std::string many = "expect=";
  for (int i = 0; i < 17; ++i) many += a + ",";
  EXPECT_EQ(refused(many), "expect: more than 16 fingerprints");

  const auto join = std::get<JoinRequest>(
      parse_join("ops", "secret=00112233445566778899AABBCCDDEEFF&expect=" + a));
  EXPECT_EQ(join.room, "ops");
  EXPECT_EQ(join.expect, List{a});
  ASSERT_TRUE(join.secret);
  EXPECT_EQ(proto::to_hex(*join.secret), "00112233445566778899aabbccddeeff");
  EXPECT_FALSE(std::get<JoinRequest>(parse_join("ops", "")).secret);  // the open room
  for (const char* bad : {"secret=", "secret=0011", "secret=00112233445566778899aabbccddeefg"}) {
    EXPECT_EQ(refused(bad), "secret: a room secret is 32 hex digits") << bad;
  }
  EXPECT_EQ(std::get<BadControl>(parse_join("a/b", "")).reason, "bad room name");

  // name=: what the others see, UTF-8 of at most 32 bytes without control characters (a name
  // that could move a terminal's cursor is refused, not passed on).
  EXPECT_EQ(std::get<JoinRequest>(parse_join("ops", "name=Zo%C3%AB%20K")).name, "Zo\u00eb K");
  EXPECT_EQ(std::get<JoinRequest>(parse_join("ops", "")).name, "");
  EXPECT_EQ(refused("name=a%0Ab"), "name: a control character");
  EXPECT_EQ(refused("name=" + std::string(33, 'x')), "name: longer than 32 bytes");
  EXPECT_EQ(refused("name=%zz"), "name: a broken %-escape");

  // seed=: the page's own identity, 32 bytes; the same seed is the same identity in every call.
  const std::string seed(64, 'a');
  const auto with_seed = std::get<JoinRequest>(parse_join("ops", "seed=" + seed));
  ASSERT_TRUE(with_seed.seed);
  EXPECT_EQ(
      crypto::Identity::from_seed(*with_seed.seed).fingerprint(),
      crypto::Identity::from_seed(*std::get<JoinRequest>(parse_join("ops", "seed=" + seed)).seed)
          .fingerprint());
  EXPECT_FALSE(std::get<JoinRequest>(parse_join("ops", "")).seed);
  for (const std::string& bad : {std::string("seed="), "seed=" + std::string(62, 'a'),
                                 "seed=" + std::string(63, 'a') + "g"}) {
    EXPECT_EQ(refused(bad), "seed: an identity seed is 64 hex digits") << bad;
  }
}

}  // namespace
}  // namespace wzp::web
