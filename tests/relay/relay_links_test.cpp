// The relay's links to other relays and to an auth service, over real QUIC and real HTTP on
// 127.0.0.1 in one process: trunk batching toward a relay, probes, forward mode, token checks.
#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "relay/forwarder.h"
#include "relay/http_auth.h"
#include "relay/prober.h"
#include "relay_fixture.h"

namespace wzp::relay {
namespace {

// Media from three members reaches a fourth session that announced itself as a relay in
// trunk frames holding several entries each, and every entry arrives.
TEST(RelayLinks, MediaTowardARelayIsBatchedIntoTrunkFrames) {
  RelayFixture f;
  const auto ep = f.server.local_endpoint();
  Member a(f.io, ep, "ops", "a"), b(f.io, ep, "ops", "b"), c(f.io, ep, "ops", "c");
  Member peer(f.io, ep, "ops", "via-relay");
  peer.preamble = {proto::FederationHello{"peer", 1, {}}};
  ASSERT_TRUE(f.run_until([&] { return a.answered && b.answered && c.answered && peer.answered; }));
  ASSERT_TRUE(f.until_paths_measured());
  for (int i = 0; i < 40; ++i) {
    a.send_media('A');
    b.send_media('B');
    c.send_media('C');
    f.io.run_for(std::chrono::milliseconds(3));
  }
  ASSERT_TRUE(f.run_until([&] { return peer.entries == 120; })) << f.relay.metrics_text();
  f.io.run_for(std::chrono::milliseconds(30));
  std::printf("toward the relay: %d entries in %d trunk frames; toward a client: %d in %d\n",
              peer.entries, peer.datagrams, a.entries, a.datagrams);
  EXPECT_EQ(peer.entries, 120);
  EXPECT_LE(peer.datagrams, 60);  // at least two entries per frame on average
  EXPECT_EQ(peer.markers, (std::set<uint8_t>{'A', 'B', 'C'}));
  EXPECT_EQ(a.entries, a.datagrams);  // clients get each datagram at once (trunk_clients off)
  EXPECT_GT(f.relay.stats().trunk_frames, 0u);
}

TEST(RelayLinks, ProbesMeasureRoundTripsToAPeerRelay) {
  RelayFixture f;
  Prober prober(f.io, {{"peer-b", f.server.local_endpoint(), nullptr}}, "relay-a",
                std::chrono::milliseconds(40));
  ASSERT_TRUE(f.run_until([&] { return prober.stats(0).answered >= 10; }));
  const auto& st = prober.stats(0);
  std::printf("probe: %lu sent, %lu answered, rtt %.3f ms, jitter %.3f ms, loss %.2f\n", st.sent,
              st.answered, st.rtt_ms, st.jitter_ms, st.loss);
  EXPECT_TRUE(st.up);
  EXPECT_GT(st.rtt_ms, 0);
  EXPECT_LT(st.rtt_ms, 200);
  EXPECT_EQ(st.loss, 0);
  const auto text = prober.metrics_text();
  EXPECT_NE(text.find("wzp_relay_probe_rtt_seconds{peer=\"peer-b\"}"), std::string::npos);
  EXPECT_NE(text.find("wzp_relay_probe_loss_ratio{peer=\"peer-b\"} 0\n"), std::string::npos);
  EXPECT_GE(f.relay.stats().probes_reflected, 10u);
  prober.stop();
}

// A client of relay A (forward mode) and a client of relay B meet in B's room; B sees two
// members and batches toward A's pipe; A reads nothing (it only moves bytes).
TEST(RelayLinks, ForwardModeCarriesACallThroughTwoRelays) {
  RelayFixture b;
  ForwarderConfig fc;
  fc.remote = b.server.local_endpoint();
  fc.relay_id = "relay-a";
  std::vector<std::string> a_log;
  fc.log = [&](const std::string& l) { a_log.push_back(l); };
  Forwarder forwarder(b.io, fc);
  transport::QuicServer a_server(b.io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                 transport::generate_certificate("wzp-relay-a"), forwarder);
  Member far(b.io, a_server.local_endpoint(), "ops", "via-a");
  Member near(b.io, b.server.local_endpoint(), "ops", "on-b");
  ASSERT_TRUE(b.run_until([&] { return far.answered && near.answered; }));
  EXPECT_EQ(b.relay.members(proto::room_sni("ops")), 2u);
  ASSERT_TRUE(b.run_until([&] {
    auto u = far.known_room();
    return u && u->participants.size() == 2;
  }));
  ASSERT_TRUE(b.until_paths_measured());
  for (int i = 0; i < 50; ++i) {
    far.send_media('F');
    near.send_media('N');
    b.io.run_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(b.run_until([&] { return far.entries == 50 && near.entries == 50; }));
  EXPECT_EQ(far.markers, (std::set<uint8_t>{'N'}));
  EXPECT_EQ(near.markers, (std::set<uint8_t>{'F'}));
  EXPECT_EQ(forwarder.stats().datagrams_up, 50u);
  EXPECT_GE(forwarder.stats().datagrams_down, 1u);
  EXPECT_GT(b.relay.stats().trunk_frames, 0u);  // B batches toward the pipe
  // The far client leaves: B's room shrinks to one.
  far.client.reset();
  EXPECT_TRUE(b.run_until([&] { return b.relay.members(proto::room_sni("ops")) == 1; }, 35000));
  a_server.stop();
}

// A small real HTTP auth service: "good" is valid, "expired" is refused with a reason, and
// "slow" is never answered.
struct AuthService {
  asio::ip::tcp::acceptor acceptor;
  std::vector<std::string> tokens;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> silent;
  explicit AuthService(asio::io_context& io)
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/validate";
  }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      serve(std::make_shared<asio::ip::tcp::socket>(std::move(s)));
      accept();
    });
  }
  void serve(std::shared_ptr<asio::ip::tcp::socket> sock) {
    namespace http = boost::beast::http;
    auto buf = std::make_shared<boost::beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *sock, *buf, *req, [this, sock, buf, req](boost::system::error_code ec, size_t) {
          if (ec) return;
          const auto body = nlohmann::json::parse(req->body(), nullptr, false);
          const std::string token = body.is_object() ? body.value("token", "") : "";
          tokens.push_back(token);
          if (token == "slow") {
            silent.push_back(sock);  // keeps the socket open, answers nothing
            return;
          }
          auto res = std::make_shared<http::response<http::string_body>>();
          res->version(11);
          if (token == "good") {
            res->result(http::status::ok);
            res->body() = R"({"valid": true, "fingerprint": "ignored"})";
          } else {
            res->result(http::status::unauthorized);
            res->body() = R"({"valid": false, "reason": "token expired"})";
          }
          res->prepare_payload();
          http::async_write(*sock, *res, [sock, res](boost::system::error_code, size_t) {});
        });
  }
};

// A relay config whose token checks go to `authorizer`, created once the fixture's io exists.
RelayConfig checking_tokens_with(std::unique_ptr<HttpAuthorizer>& authorizer) {
  RelayConfig rc;
  rc.authorize = [&authorizer](const std::string& t, std::function<void(AuthVerdict)> done) {
    authorizer->check(t, std::move(done));
  };
  return rc;
}

std::string hangup_reason(const Member& m) {
  const auto* h = m.last<proto::Hangup>();
  return h ? h->reason : std::string();
}

TEST(RelayLinks, TokensAreCheckedWithTheAuthServiceBeforeJoining) {
  std::unique_ptr<HttpAuthorizer> authorizer;
  RelayConfig rc = checking_tokens_with(authorizer);
  RelayFixture f(rc);
  AuthService service(f.io);
  std::string error;
  const auto url = parse_http_url(service.url(), &error);
  ASSERT_TRUE(url) << error;
  authorizer = std::make_unique<HttpAuthorizer>(f.io, *url, std::chrono::milliseconds(500));
  const auto ep = f.server.local_endpoint();
  Member good(f.io, ep, "ops", "good"), expired(f.io, ep, "ops", "expired");
  Member none(f.io, ep, "ops", "none"), slow(f.io, ep, "ops", "slow");
  good.preamble = {proto::AuthToken{"good"}};
  expired.preamble = {proto::AuthToken{"expired"}};
  slow.preamble = {proto::AuthToken{"slow"}};
  ASSERT_TRUE(f.run_until([&] {
    return good.answered && !expired.closed.empty() && !none.closed.empty() && !slow.closed.empty();
  }));
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 1u);
  // Refusals are a Hangup with the reason, not a silent drop.
  EXPECT_EQ(hangup_reason(expired), "token refused: token expired");
  EXPECT_EQ(hangup_reason(none), "authentication required: send AuthToken first");
  EXPECT_EQ(hangup_reason(slow), "auth service unavailable: no answer within 500 ms");
  EXPECT_EQ(f.relay.stats().auth_valid, 1u);
  EXPECT_EQ(f.relay.stats().auth_refused, 2u);  // expired, and none (no token at all)
  EXPECT_EQ(f.relay.stats().auth_unavailable, 1u);
  EXPECT_EQ(service.tokens.size(), 3u);
  const auto text = f.relay.metrics_text();
  EXPECT_NE(text.find("wzp_relay_auth_total{result=\"valid\"} 1"), std::string::npos);
}

TEST(RelayLinks, AServiceThatIsDownRefusesWithAReason) {
  std::unique_ptr<HttpAuthorizer> authorizer;
  RelayConfig rc = checking_tokens_with(authorizer);
  RelayFixture f(rc);
  // A port nothing listens on.
  asio::ip::tcp::acceptor probe(f.io,
                                asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = probe.local_endpoint().port();
  probe.close();
  authorizer = std::make_unique<HttpAuthorizer>(
      f.io, HttpUrl{"127.0.0.1", std::to_string(port), "/validate"},
      std::chrono::milliseconds(500));
  Member m(f.io, f.server.local_endpoint(), "ops", "m");
  m.preamble = {proto::AuthToken{"good"}};
  ASSERT_TRUE(f.run_until([&] { return !m.closed.empty(); }));
  EXPECT_NE(hangup_reason(m).find("auth service unavailable: connect"), std::string::npos)
      << hangup_reason(m);
}

}  // namespace
}  // namespace wzp::relay
