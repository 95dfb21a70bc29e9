// The bridge's HTTP and WebSocket sessions, on either stream kind (a plain TCP stream or TLS
// over it). Private to src/web: serve_plain.cpp and serve_tls.cpp each instantiate them for one.
#pragma once

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "web/bridge_state.h"
#include "web/browser_peer.h"
#include "web/control_message.h"
#include "web/out_queue.h"

namespace wzp::web::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;

// A WebSocket on either stream kind: reads messages into the browser peer, writes its queue.
template <class Stream>
class SocketSession : public std::enable_shared_from_this<SocketSession<Stream>> {
 public:
  SocketSession(Stream&& s, std::shared_ptr<WebBridge::Impl> bridge, JoinRequest join)
      : ws_(std::move(s)), bridge_(std::move(bridge)), join_(std::move(join)) {}

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
      self->peer_ = std::make_unique<BrowserPeer>(
          self->bridge_, self->join_,
          BrowserPeer::Out{
              [weak](std::span<const uint8_t> b) {
                if (auto s = weak.lock()) s->queue(b, true);
              },
              [weak](std::string_view t) {
                if (auto s = weak.lock())
                  s->queue({reinterpret_cast<const uint8_t*>(t.data()), t.size()}, false);
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
        self->peer_.reset();  // the browser left: hang up toward the relay
        return;
      }
      if (self->closing_) return;
      const auto data = self->buf_.cdata();
      const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data.data()), data.size());
      if (self->ws_.got_binary()) {
        self->peer_->on_binary(bytes);
      } else {
        self->peer_->on_text({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
      }
      self->buf_.consume(self->buf_.size());
      if (!self->closing_) self->read();
    });
  }
  void queue(std::span<const uint8_t> msg, bool binary) {
    if (closing_) return;
    // A browser that stopped reading: the queue drops the oldest message still waiting (never
    // the front: async_write is sending from its buffer).
    if (out_.push(msg, binary)) write();
  }
  void write() {
    auto self = this->shared_from_this();
    ws_.binary(out_.front().binary);
    ws_.async_write(asio::buffer(out_.front().bytes), [self](beast::error_code ec, size_t) {
      if (ec) return;
      self->out_.pop();
      if (!self->out_.empty()) self->write();
    });
  }
  void close(std::string why) {
    if (closing_) return;
    closing_ = true;
    auto self = this->shared_from_this();
    websocket::close_reason r(websocket::close_code::policy_error, why.substr(0, 120));
    ws_.async_close(r, [self](beast::error_code) { self->peer_.reset(); });
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<WebBridge::Impl> bridge_;
  JoinRequest join_;
  std::unique_ptr<BrowserPeer> peer_;
  beast::flat_buffer buf_;
  OutQueue out_;
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
      const size_t q = target.find('?');
      auto parsed = parse_join(
          std::string_view(path).substr(4),
          q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1));
      if (const auto* bad = std::get_if<BadControl>(&parsed)) {
        return reply(http::status::bad_request, "text/plain", bad->reason + "\n");
      }
      auto join = std::move(std::get<JoinRequest>(parsed));
      beast::get_lowest_layer(stream_).expires_never();
      std::make_shared<SocketSession<Stream>>(std::move(stream_), bridge_, std::move(join))
          ->start(std::move(req_));
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
      if (name.empty() || name.find("..") != std::string::npos ||
          name.find('/') != std::string::npos) {
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

}  // namespace wzp::web::detail
