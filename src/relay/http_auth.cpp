#include "relay/http_auth.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <nlohmann/json.hpp>

namespace wzp::relay {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One request in flight: resolve, connect, write, read, judge. The shared_ptr keeps it alive
// across the asynchronous steps.
struct Check : std::enable_shared_from_this<Check> {
  tcp::resolver resolver;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  std::function<void(AuthVerdict)> done;
  std::chrono::milliseconds timeout;

  Check(boost::asio::io_context& io, std::chrono::milliseconds t)
      : resolver(io), stream(io), timeout(t) {}

  void finish(AuthVerdict::Result r, std::string reason) {
    if (!done) return;
    auto d = std::move(done);
    done = nullptr;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    d(AuthVerdict{r, std::move(reason)});
  }
  void fail(const char* step, const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
      return finish(AuthVerdict::Result::kUnavailable,
                    "no answer within " + std::to_string(timeout.count()) + " ms");
    }
    finish(AuthVerdict::Result::kUnavailable, std::string(step) + ": " + ec.message());
  }

  void start(const HttpUrl& url) {
    auto self = shared_from_this();
    resolver.async_resolve(
        url.host, url.port, [self](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->fail("resolve", ec);
          self->stream.expires_after(self->timeout);
          self->stream.async_connect(r, [self](beast::error_code ec2, const tcp::endpoint&) {
            if (ec2) return self->fail("connect", ec2);
            http::async_write(self->stream, self->req, [self](beast::error_code ec3, size_t) {
              if (ec3) return self->fail("write", ec3);
              http::async_read(self->stream, self->buffer, self->res,
                               [self](beast::error_code ec4, size_t) {
                                 if (ec4) return self->fail("read", ec4);
                                 self->judge();
                               });
            });
          });
        });
  }

  void judge() {
    const unsigned status = res.result_int();
    const auto body = nlohmann::json::parse(res.body(), nullptr, false);
    std::string reason;
    if (body.is_object() && body.contains("reason") && body["reason"].is_string()) {
      reason = body["reason"].get<std::string>();
    }
    if (status >= 500) {
      return finish(AuthVerdict::Result::kUnavailable, "HTTP " + std::to_string(status));
    }
    if (status >= 200 && status < 300) {
      if (body.is_discarded() || !body.is_object()) {
        return finish(AuthVerdict::Result::kUnavailable, "reply is not a JSON object");
      }
      if (body.contains("valid") && body["valid"] == true) {
        return finish(AuthVerdict::Result::kValid, {});
      }
      return finish(AuthVerdict::Result::kRefused, reason.empty() ? "not valid" : reason);
    }
    return finish(AuthVerdict::Result::kRefused,
                  reason.empty() ? "HTTP " + std::to_string(status) : reason);
  }
};

}  // namespace

std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* error) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    if (error) *error = "only http:// URLs are supported, got '" + url + "'";
    return std::nullopt;
  }
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  HttpUrl u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = "80";
  }
  if (!u.host.empty() && u.host.front() == '[' && u.host.back() == ']') {
    u.host = u.host.substr(1, u.host.size() - 2);
  }
  if (u.host.empty() || u.port.empty() ||
      u.port.find_first_not_of("0123456789") != std::string::npos) {
    if (error) *error = "bad host or port in '" + url + "'";
    return std::nullopt;
  }
  return u;
}

HttpAuthorizer::HttpAuthorizer(boost::asio::io_context& io, HttpUrl url,
                               std::chrono::milliseconds timeout)
    : io_(io), url_(std::move(url)), timeout_(timeout) {}

void HttpAuthorizer::check(const std::string& token, std::function<void(AuthVerdict)> done) {
  auto c = std::make_shared<Check>(io_, timeout_);
  c->done = std::move(done);
  c->req = {http::verb::post, url_.target, 11};
  c->req.set(http::field::host, url_.host);
  c->req.set(http::field::content_type, "application/json");
  c->req.set(http::field::user_agent, "wzp-relay");
  c->req.body() = nlohmann::json{{"token", token}}.dump();
  c->req.prepare_payload();
  c->start(url_);
}

}  // namespace wzp::relay
