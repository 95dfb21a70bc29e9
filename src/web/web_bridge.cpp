#include "web/web_bridge.h"

#include <array>

#include "proto/prometheus.h"
#include "web/bridge_state.h"

namespace wzp::web {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

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

WebBridge::Impl::Impl(asio::io_context& i, BridgeConfig c)
    : io(i),
      config(std::move(c)),
      acceptor(i, config.listen),
      known(config.state_dir / "known_relays"),
      scheduler(i) {
  if (config.tls) {
    tls.emplace(ssl::context::tls_server);
    tls->use_certificate_chain(asio::buffer(config.tls->first));
    tls->use_private_key(asio::buffer(config.tls->second), ssl::context::pem);
  }
}

void WebBridge::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    if (self->stopped) return;
    if (!ec) self->tls ? serve_tls(std::move(s), self) : serve_plain(std::move(s), self);
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
  st.latency.write(out, "wzp_web_bridge_latency_seconds",
                   "A browser frame's wait from arrival to the encoder taking it.");
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
