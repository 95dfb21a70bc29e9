#include "web/web_bridge.h"

#include "web/control_message.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <algorithm>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>

#include "client/quic_signal.h"
#include "client/room_call.h"
#include "client/signal_session.h"
#include "crypto/identity.h"
#include "proto/prometheus.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"
#include "transport/tls_identity.h"

namespace wzp::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr size_t kFrameSamples = 960;
constexpr size_t kFrameBytes = kFrameSamples * 2;

std::string content_type(const std::filesystem::path& p) {
  const auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

// The bridge's shared state; sessions hold a shared_ptr so it outlives them.
struct WebBridge::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  BridgeConfig config;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  BridgeStats stats;
  size_t live = 0;
  transport::KnownRelays known;
  transport::AsioScheduler scheduler;
  bool stopped = false;

  Impl(asio::io_context& i, BridgeConfig c)
      : io(i), config(std::move(c)), acceptor(i, config.listen),
        known(config.state_dir / "known_relays"), scheduler(i) {
    if (config.tls) {
      tls.emplace(ssl::context::tls_server);
      tls->use_certificate_chain(asio::buffer(config.tls->first));
      tls->use_private_key(asio::buffer(config.tls->second), ssl::context::pem);
    }
  }
  void accept();
  bool pin(const std::string& relay, const std::string& fp) {
    return transport::KnownRelays::trusted(known.check(relay, fp));
  }
  static std::string metrics(const Impl& b);
  void record_latency(double ms) {
    for (size_t b = 0; b < std::size(BridgeStats::kLatencyBucketsMs); ++b) {
      if (ms <= BridgeStats::kLatencyBucketsMs[b]) ++stats.latency_buckets[b];
    }
    ++stats.latency_count;
    stats.latency_sum_ms += ms;
  }
};

namespace {

// One browser: a participant toward the relay. Transport-neutral: the WebSocket side hands it
// messages and gives it ways to send and to close.
class Participant {
 public:
  struct Out {
    std::function<void(std::vector<uint8_t>)> binary;
    std::function<void(std::string)> text;
    std::function<void(std::string)> close;
  };

  Participant(std::shared_ptr<WebBridge::Impl> bridge, std::string room, Out out)
      : bridge_(std::move(bridge)), room_(std::move(room)), out_(std::move(out)),
        identity_(crypto::Identity::generate()), relay_(bridge_->config.relay),
        connector_(bridge_->io, {{}, [b = bridge_](const std::string& r, const std::string& fp) {
                                   return b->pin(r, fp);
                                 }}),
        timer_(bridge_->io) {
    ++bridge_->live;
    ++bridge_->stats.connections_total;
    session_ = std::make_unique<client::SignalSession>(
        identity_, connector_, bridge_->scheduler,
        [this](const client::SignalEvent& e) { on_event(e); });
    session_->register_relay(relay_);
    start_call();
    tick();
  }
  ~Participant() {
    *alive_ = false;
    --bridge_->live;
    timer_.cancel();
    if (call_) call_->hang_up();
    session_->deregister();
    // The call may still be flushing its goodbye: let it go at the next turn.
    std::shared_ptr<client::RoomCall> c(std::move(call_));
    asio::post(bridge_->io, [c] {});
  }

  void on_binary(std::span<const uint8_t> d) {
    if (!admit()) return;
    if (d.size() != kFrameBytes) {
      ++bridge_->stats.errors_bad_frame;
      return out_.close("bad audio frame: " + std::to_string(d.size()) + " bytes, expected " +
                        std::to_string(kFrameBytes));
    }
    ++bridge_->stats.frames_in;
    Frame f;
    f.arrived = Clock::now();
    for (size_t i = 0; i < kFrameSamples; ++i) {
      f.pcm[i] = static_cast<int16_t>(d[2 * i] | d[2 * i + 1] << 8);
    }
    frames_.push_back(f);
    if (frames_.size() > 10) frames_.pop_front();  // never more than 200 ms behind the browser
  }

  void on_text(std::string_view text) {
    if (!admit()) return;
    ++bridge_->stats.control_in;
    const Control c = parse_control(text);
    if (const auto* bad = std::get_if<BadControl>(&c)) {
      ++bridge_->stats.errors_bad_control;
      return out_.close("bad control message: " + bad->reason);
    }
    if (const auto* sw = std::get_if<SwitchRelay>(&c)) {
      const auto ep = transport::parse_address(sw->relay);
      if (!ep.address) return send({{"type", "error"}, {"reason", "relay " + ep.error}});
      relay_ = sw->relay;
      session_->register_relay(relay_);  // the session moves, no deregister dance
      if (call_) call_->move_to(*ep.address);
      return;
    }
    if (const auto* m = std::get_if<SetMute>(&c); m && call_) call_->set_muted(m->on);
  }

 private:
  struct Frame {
    std::array<int16_t, kFrameSamples> pcm;
    Clock::time_point arrived;
  };

  // A browser may send 50 audio frames a second and some control; a flood is cut off.
  bool admit() {
    const auto now = Clock::now();
    if (now - window_start_ > std::chrono::seconds(1)) {
      window_start_ = now;
      window_count_ = 0;
    }
    if (++window_count_ > bridge_->config.max_messages_per_s) {
      ++bridge_->stats.errors_flood;
      out_.close("too many messages (over " +
                 std::to_string(static_cast<int>(bridge_->config.max_messages_per_s)) + "/s)");
      return false;
    }
    return true;
  }

  void start_call() {
    const auto ep = transport::parse_address(relay_);
    if (!ep.address) return send({{"type", "error"}, {"reason", "relay " + ep.error}});
    client::RoomCallOptions o;
    o.room = room_;
    o.display_name = "web-" + identity_.fingerprint().substr(0, 4);
    o.encoder.silence_suppression = true;
    o.verify_relay = [b = bridge_, this](const std::string& fp) { return b->pin(relay_, fp); };
    auto source = [this](std::span<int16_t> pcm) {
      if (frames_.empty()) return false;
      const Frame& f = frames_.front();
      std::copy(f.pcm.begin(), f.pcm.end(), pcm.begin());
      bridge_->record_latency(
          std::chrono::duration<double, std::milli>(Clock::now() - f.arrived).count());
      frames_.pop_front();
      return true;
    };
    auto sink = [this](std::span<const int16_t> pcm) {
      if (!call_ || call_->member_count() == 0) return;
      std::vector<uint8_t> bytes(pcm.size() * 2);
      for (size_t i = 0; i < pcm.size(); ++i) {
        bytes[2 * i] = static_cast<uint8_t>(pcm[i]);
        bytes[2 * i + 1] = static_cast<uint8_t>(static_cast<uint16_t>(pcm[i]) >> 8);
      }
      ++bridge_->stats.frames_out;
      out_.binary(std::move(bytes));
    };
    call_ = std::make_unique<client::RoomCall>(bridge_->io, *ep.address, identity_, o, source, sink);
  }

  void on_event(const client::SignalEvent& e) {
    using K = client::SignalEvent::Kind;
    json j = {{"type", "session"}, {"relay", e.relay}};
    switch (e.kind) {
      case K::kReconnecting:
        j["state"] = "reconnecting";
        j["attempt"] = e.attempt;
        j["next_delay_ms"] = e.next_delay_ms;
        break;
      case K::kRegistered:
        j["state"] = "registered";
        j["fingerprint"] = e.fingerprint;
        break;
      case K::kDeregistered:
        j["state"] = "deregistered";
        break;
      case K::kError:
        j["state"] = "error";
        j["reason"] = e.reason;
        break;
    }
    send(j);
  }

  // Once a second: the call's state for the page's statistics and participant list.
  void tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;  // a tick already due when the page left (cancel cannot recall it)
      if (call_) {
        const auto st = call_->status();
        json members = json::array();
        for (const auto& m : call_->members()) {
          members.push_back({{"name", m.display_name}, {"fingerprint", m.fingerprint}});
        }
        send({{"type", "stats"},
              {"relay", relay_},
              {"room", room_},
              {"fingerprint", identity_.fingerprint()},
              {"connected", st.connected},
              {"reconnecting", st.reconnecting},
              {"tier", std::string(proto::tier_name(st.tier))},
              {"loss_percent", st.loss_percent},
              {"rtt_ms", st.rtt_ms},
              {"jitter_ms", st.jitter_ms},
              {"delay_ms", st.buffer_delay_ms},
              {"members", members}});
      }
      tick();
    });
  }

  void send(const json& j) { out_.text(j.dump(-1, ' ', false, json::error_handler_t::replace)); }

  std::shared_ptr<WebBridge::Impl> bridge_;
  std::string room_;
  Out out_;
  crypto::Identity identity_;
  std::string relay_;
  client::QuicSignalConnector connector_;
  std::unique_ptr<client::SignalSession> session_;
  std::unique_ptr<client::RoomCall> call_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::deque<Frame> frames_;
  asio::steady_timer timer_;
  Clock::time_point window_start_{};
  double window_count_ = 0;
};

// A WebSocket on either stream kind: reads messages into the participant, writes its queue.
template <class Stream>
class SocketSession : public std::enable_shared_from_this<SocketSession<Stream>> {
 public:
  SocketSession(Stream&& s, std::shared_ptr<WebBridge::Impl> bridge, std::string room)
      : ws_(std::move(s)), bridge_(std::move(bridge)), room_(std::move(room)) {}

  void start(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    auto self = this->shared_from_this();
    ws_.async_accept(req, [self](beast::error_code ec) {
      if (ec) return;
      if (self->bridge_->live >= self->bridge_->config.max_sessions) {
        ++self->bridge_->stats.errors_full;
        return self->close("bridge full");
      }
      std::weak_ptr<SocketSession> weak = self;
      self->participant_ = std::make_unique<Participant>(
          self->bridge_, self->room_,
          Participant::Out{[weak](std::vector<uint8_t> b) {
                             if (auto s = weak.lock()) s->queue(std::move(b), true);
                           },
                           [weak](std::string t) {
                             if (auto s = weak.lock()) s->queue({t.begin(), t.end()}, false);
                           },
                           [weak](std::string why) {
                             if (auto s = weak.lock()) s->close(std::move(why));
                           }});
      self->read();
    });
  }

 private:
  void read() {
    auto self = this->shared_from_this();
    ws_.async_read(buf_, [self](beast::error_code ec, size_t) {
      if (ec) {
        self->participant_.reset();  // the browser left: hang up toward the relay
        return;
      }
      if (self->closing_) return;
      const auto data = self->buf_.cdata();
      const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data.data()), data.size());
      if (self->ws_.got_binary()) {
        self->participant_->on_binary(bytes);
      } else {
        self->participant_->on_text({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
      }
      self->buf_.consume(self->buf_.size());
      if (!self->closing_) self->read();
    });
  }
  void queue(std::vector<uint8_t> msg, bool binary) {
    if (closing_) return;
    // A browser that stopped reading: drop the oldest message still waiting. Never the front:
    // async_write is sending from its buffer (dropping it was a use after free).
    if (out_.size() > 50) out_.erase(out_.begin() + 1);
    out_.push_back({std::move(msg), binary});
    if (out_.size() == 1) write();
  }
  void write() {
    auto self = this->shared_from_this();
    ws_.binary(out_.front().second);
    ws_.async_write(asio::buffer(out_.front().first), [self](beast::error_code ec, size_t) {
      if (ec) return;
      self->out_.pop_front();
      if (!self->out_.empty()) self->write();
    });
  }
  void close(std::string why) {
    if (closing_) return;
    closing_ = true;
    auto self = this->shared_from_this();
    websocket::close_reason r(websocket::close_code::policy_error, why.substr(0, 120));
    ws_.async_close(r, [self](beast::error_code) { self->participant_.reset(); });
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<WebBridge::Impl> bridge_;
  std::string room_;
  std::unique_ptr<Participant> participant_;
  beast::flat_buffer buf_;
  std::deque<std::pair<std::vector<uint8_t>, bool>> out_;
  bool closing_ = false;
};

// HTTP on either stream kind: static files, /metrics, and the upgrade to a WebSocket.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream&& s, std::shared_ptr<WebBridge::Impl> bridge)
      : stream_(std::move(s)), bridge_(std::move(bridge)) {}

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read();
    } else {
      auto self = this->shared_from_this();
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
      stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (!ec) self->read();
      });
    }
  }

 private:
  void read() {
    req_ = {};
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    auto self = this->shared_from_this();
    http::async_read(stream_, buf_, req_, [self](beast::error_code ec, size_t) {
      if (ec) return;
      self->route();
    });
  }
  // A browser's handshake names the page it came from: our own (the Host it asked for, on the
  // scheme we serve) or one the operator allowed. No Origin at all is not a browser page, and
  // so no visitor's browser being used by another site.
  bool origin_allowed() const {
    const auto origin = req_.find(http::field::origin);
    if (origin == req_.end()) return true;
    const std::string o(origin->value());
    const std::string own = std::string(bridge_->config.tls ? "https://" : "http://") +
                            std::string(req_[http::field::host]);
    if (o == own) return true;
    const auto& allowed = bridge_->config.allowed_origins;
    return std::find(allowed.begin(), allowed.end(), o) != allowed.end();
  }
  void route() {
    ++bridge_->stats.http_requests;
    const std::string target(req_.target());
    const std::string path = target.substr(0, target.find('?'));
    if (websocket::is_upgrade(req_) && path.rfind("/ws/", 0) == 0) {
      if (!origin_allowed()) {
        ++bridge_->stats.errors_origin;
        return reply(http::status::forbidden, "text/plain",
                     "origin not allowed (wzp-web --allow-origin adds one)\n");
      }
      const std::string room = path.substr(4);
      if (!valid_room(room)) return reply(http::status::bad_request, "text/plain", "bad room name\n");
      beast::get_lowest_layer(stream_).expires_never();
      std::make_shared<SocketSession<Stream>>(std::move(stream_), bridge_, room)->start(std::move(req_));
      return;
    }
    if (req_.method() != http::verb::get) {
      return reply(http::status::method_not_allowed, "text/plain", "GET only\n");
    }
    if (path == "/metrics") {
      return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                   WebBridge::Impl::metrics(*bridge_));
    }
    if (path == "/healthz") {  // a room cannot be called this (valid_room)
      return reply(http::status::ok, "application/json",
                   R"({"status":"ok","browsers":)" + std::to_string(bridge_->live) + "}\n");
    }
    if (path == "/") {
      http::response<http::string_body> res{http::status::found, req_.version()};
      res.set(http::field::location, "/lobby");
      res.prepare_payload();
      return send(std::move(res));
    }
    std::filesystem::path file;
    if (path.rfind("/vendor/", 0) == 0) {
      auto it = bridge_->config.vendor.find(path.substr(8));
      if (it == bridge_->config.vendor.end()) return not_found();
      file = it->second;
    } else if (path.rfind("/static/", 0) == 0) {
      const std::string name = path.substr(8);
      if (name.empty() || name.find("..") != std::string::npos || name.find('/') != std::string::npos) {
        return not_found();
      }
      file = bridge_->config.web_root / name;
    } else if (valid_room(path.substr(1))) {
      file = bridge_->config.web_root / "index.html";  // the page joins the room in its URL
    } else {
      return not_found();
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return not_found();
    std::string body((std::istreambuf_iterator<char>(in)), {});
    reply(http::status::ok, content_type(file), std::move(body));
  }
  void not_found() {
    ++bridge_->stats.not_found;
    reply(http::status::not_found, "text/plain", "not found\n");
  }
  void reply(http::status status, const std::string& type, std::string body) {
    http::response<http::string_body> res{status, req_.version()};
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req_.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    send(std::move(res));
  }
  void send(http::response<http::string_body>&& res) {
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    auto self = this->shared_from_this();
    http::async_write(stream_, *sp, [self, sp](beast::error_code ec, size_t) {
      if (ec) return;
      if (sp->keep_alive()) self->read();
    });
  }

  Stream stream_;
  std::shared_ptr<WebBridge::Impl> bridge_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
};

}  // namespace

void WebBridge::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    if (self->stopped) return;
    if (!ec) {
      if (self->tls) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *self->tls), self)
            ->start();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), self)->start();
      }
    }
    self->accept();
  });
}

std::string WebBridge::Impl::metrics(const Impl& b) {
  using proto::family;
  const auto& st = b.stats;
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  std::string out;
  family(out, "wzp_web_connections", "gauge", "Browsers connected (each a participant).",
         {{"", n(b.live)}});
  family(out, "wzp_web_connections_total", "counter", "Browser WebSockets accepted.",
         {{"", n(st.connections_total)}});
  family(out, "wzp_web_frames_total", "counter",
         "20 ms audio frames: in from browsers, out to browsers.",
         {{R"({direction="in"})", n(st.frames_in)}, {R"({direction="out"})", n(st.frames_out)}});
  family(out, "wzp_web_control_messages_total", "counter", "JSON control messages from browsers.",
         {{"", n(st.control_in)}});
  family(out, "wzp_web_errors_total", "counter", "Browsers closed for misbehaving, by reason.",
         {{R"({reason="bad_frame"})", n(st.errors_bad_frame)},
          {R"({reason="bad_control"})", n(st.errors_bad_control)},
          {R"({reason="flood"})", n(st.errors_flood)},
          {R"({reason="full"})", n(st.errors_full)},
          {R"({reason="origin"})", n(st.errors_origin)}});
  family(out, "wzp_web_http_requests_total", "counter", "HTTP requests (pages, files, metrics).",
         {{"", n(st.http_requests)}});
  std::array<double, std::size(BridgeStats::kLatencyBucketsMs)> bounds{};
  for (size_t i = 0; i < bounds.size(); ++i) bounds[i] = BridgeStats::kLatencyBucketsMs[i] / 1000;
  proto::histogram(out, "wzp_web_bridge_latency_seconds",
                   "A browser frame's wait from arrival to the encoder taking it.", bounds,
                   st.latency_buckets, st.latency_count, st.latency_sum_ms / 1000);
  return out;
}

WebBridge::WebBridge(asio::io_context& io, BridgeConfig config)
    : impl_(std::make_shared<Impl>(io, std::move(config))) {
  impl_->accept();
}

WebBridge::~WebBridge() { stop(); }

void WebBridge::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

tcp::endpoint WebBridge::local_endpoint() const { return impl_->acceptor.local_endpoint(); }
size_t WebBridge::sessions() const { return impl_->live; }
std::string WebBridge::metrics_text() const { return Impl::metrics(*impl_); }

}  // namespace wzp::web
