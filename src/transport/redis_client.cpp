#include "transport/redis_client.h"

namespace wzp::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

RedisClient::RedisClient(asio::io_context& io, RedisConfig config, OnState on_state)
    : io_(io),
      config_(std::move(config)),
      on_state_(std::move(on_state)),
      socket_(io),
      retry_(io),
      watchdog_(io),
      backoff_(config_.min_backoff),
      in_(16384) {
  dial();
  check_overdue();
}

RedisClient::~RedisClient() {
  *alive_ = false;
  stop();
}

void RedisClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_.cancel();
  watchdog_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  up_ = linked_ = false;
  for (auto& p : std::exchange(pending_, {})) {
    ++counters_.failed;
    if (p.done && *alive_) p.done(nullptr);
  }
}

void RedisClient::dial() {
  if (stopped_ || dialling_) return;
  dialling_ = true;
  resolve(io_, config_.address, [this, alive = alive_](EndpointResult r) {
    if (!*alive || stopped_) return;
    if (!r.endpoint) {
      dialling_ = false;
      return lost(r.error);
    }
    const tcp::endpoint to(r.endpoint->address(), r.endpoint->port());
    socket_.async_connect(to, [this, alive](const boost::system::error_code& ec) {
      if (!*alive || stopped_) return;
      dialling_ = false;
      if (ec) return lost("connect: " + ec.message());
      connected();
    });
  });
}

void RedisClient::connected() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  linked_ = true;
  parser_ = proto::RespParser();
  read();
  if (config_.password.empty()) return ready();
  std::vector<std::string> auth = {"AUTH"};
  if (!config_.username.empty()) auth.push_back(config_.username);
  auth.push_back(config_.password);
  enqueue(std::move(auth), [this](const proto::RespValue* r) {
    if (!r) return;  // the connection went meanwhile (said by lost)
    if (r->is_error()) return lost("Redis refused our credentials (AUTH): " + r->text);
    ready();
  });
}

void RedisClient::ready() {
  up_ = true;
  backoff_ = config_.min_backoff;
  ++counters_.connects;
  if (said_down_ || counters_.connects == 1) {
    said_down_ = false;
    if (on_state_) on_state_(true, "");
  }
}

void RedisClient::command(std::vector<std::string> args, Reply done) {
  if (!up_ || pending_.size() >= config_.max_in_flight) {
    ++counters_.failed;
    if (done) done(nullptr);
    return;
  }
  enqueue(std::move(args), std::move(done));
}

void RedisClient::enqueue(std::vector<std::string> args, Reply done) {
  ++counters_.commands;
  out_ += proto::resp_command(args);
  pending_.push_back({std::move(done), std::chrono::steady_clock::now()});
  flush();
}

void RedisClient::flush() {
  if (!writing_.empty() || out_.empty() || !linked_) return;
  writing_.swap(out_);
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, alive = alive_](const boost::system::error_code& ec, size_t) {
                      if (!*alive) return;
                      writing_.clear();
                      if (ec == asio::error::operation_aborted) return;  // closed by lost()
                      if (ec) return lost("write: " + ec.message());
                      flush();
                    });
}

void RedisClient::read() {
  socket_.async_read_some(
      asio::buffer(in_), [this, alive = alive_](const boost::system::error_code& ec, size_t n) {
        if (!*alive || !linked_ || ec == asio::error::operation_aborted) return;
        if (ec)
          return lost(ec == asio::error::eof ? "closed by the server" : "read: " + ec.message());
        if (!parser_.feed({in_.data(), n})) return lost("bad reply: " + parser_.error());
        while (auto v = parser_.next()) {
          if (pending_.empty()) return lost("a reply to no command");
          Pending p = std::move(pending_.front());
          pending_.pop_front();
          if (v->is_error()) ++counters_.error_replies;
          if (p.done) p.done(&*v);
          if (!*alive || !linked_) return;  // the callback stopped us
        }
        if (parser_.failed()) return lost("bad reply: " + parser_.error());
        read();
      });
}

void RedisClient::lost(const std::string& why) {
  if (stopped_) return;
  const bool was_up = up_;
  up_ = linked_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  out_.clear();
  if (was_up) ++counters_.disconnects;
  if (!said_down_) {
    said_down_ = true;
    if (on_state_) on_state_(false, why);
  }
  for (auto& p : std::exchange(pending_, {})) {
    ++counters_.failed;
    if (p.done) p.done(nullptr);
  }
  // The socket is reopened by the next async_connect; a write in flight ends with an error.
  retry_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, config_.max_backoff);
  retry_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive) dial();
  });
}

void RedisClient::check_overdue() {
  watchdog_.expires_after(std::chrono::milliseconds(250));
  watchdog_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    if (linked_ && !pending_.empty() &&
        std::chrono::steady_clock::now() - pending_.front().sent > config_.reply_timeout) {
      lost("no reply within " + std::to_string(config_.reply_timeout.count()) + " ms");
    }
    check_overdue();
  });
}

}  // namespace wzp::transport
