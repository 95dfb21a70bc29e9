#include "client/quic_signal.h"

#include "proto/room_name.h"
#include "proto/signal_framing.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"

namespace wzp::client {

class QuicSignalConnector::Connection : public SignalConnection, public transport::QuicEvents {
 public:
  Connection(QuicSignalConnector& owner, const boost::asio::ip::udp::endpoint& relay,
             const std::string& name, Done done)
      : owner_(&owner),
        io_(owner.io_),
        options_(owner.options_),
        done_(std::move(done)),
        scheduler_(owner.io_),
        liveness_(options_.liveness) {
    auto verify = options_.verify;
    client_ = std::make_unique<transport::QuicClient>(
        io_, relay, proto::room_sni("presence"),
        verify ? std::function<bool(const std::string&)>(
                     [verify, name](const std::string& fp) { return verify(name, fp); })
               : nullptr,
        *this);
    liveness_.dialled(scheduler_.now_ms());
    arm();
  }
  ~Connection() override {
    *alive_ = false;
    scheduler_.cancel(timer_);
    // The QUIC client may be on the stack (this can run from its own callback): free it later.
    std::shared_ptr<transport::QuicClient> c(std::move(client_));
    if (c) {
      c->connection().close("signalling closed");
      boost::asio::post(io_, [c] {});
    }
  }

  void send(const proto::SignalMessage& msg) override {
    client_->connection().send_stream(proto::frame_signal(msg));
  }
  void close() override {
    closing_ = true;
    client_->connection().close("deregistered");
  }
  void set_handlers(Handlers h) override { handlers_ = std::move(h); }

  void on_established(transport::QuicConnection& c) override {
    liveness_.answered(scheduler_.now_ms());
    if (!options_.token.empty())
      c.send_stream(proto::frame_signal(proto::AuthToken{options_.token}));
    if (owner_) hand_over(nullptr);
  }
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override {
    liveness_.heard(scheduler_.now_ms());
    if (!reader_.feed(d)) return c.close("oversized signalling frame");
    while (auto m = reader_.next()) {
      if (!m->ok()) continue;
      if (std::holds_alternative<proto::Pong>(m->value())) continue;
      auto alive = alive_;
      if (handlers_.on_message) handlers_.on_message(m->value());
      if (!*alive) return;
    }
  }
  void on_closed(transport::QuicConnection&, const std::string& reason) override { lost(reason); }

 private:
  friend class QuicSignalConnector;
  // Gives the connection to the session (or reports the failure), exactly once.
  void hand_over(const char* error) {
    QuicSignalConnector* owner = owner_;
    if (!owner) return;
    auto it = owner->pending_.find(this);
    if (it == owner->pending_.end()) {
      // Failed inside our own constructor, before connect() took us in: report it from a
      // posted handler, once we are in pending_ (erasing end() corrupted the map's heap).
      boost::asio::post(io_, [this, alive = alive_, failed = error != nullptr,
                              e = std::string(error ? error : "")] {
        if (*alive && owner_) hand_over(failed ? e.c_str() : nullptr);
      });
      return;
    }
    owner_ = nullptr;
    std::unique_ptr<Connection> self = std::move(it->second);
    owner->pending_.erase(it);
    auto done = std::move(done_);
    if (error) {
      std::shared_ptr<Connection> doomed(std::move(self));
      boost::asio::post(io_, [doomed] {});
      done(nullptr, error);
    } else {
      done(std::move(self), {});
    }
  }
  void lost(const std::string& reason) {
    if (owner_) return hand_over(reason.c_str());
    if (closing_ || reported_) return;
    reported_ = true;
    if (handlers_.on_closed) handlers_.on_closed(reason);
  }
  // The liveness rule is checked several times per ping interval.
  void arm() {
    timer_ = scheduler_.call_after(liveness_.rule().ping_every_ms / 4, [this, alive = alive_] {
      if (!*alive) return;
      const uint64_t now = scheduler_.now_ms();
      const auto state = liveness_.state(now);
      auto& c = client_->connection();
      // close() reports the close to us at once, and whoever we were handed to may destroy us
      // right there: after it, touch nothing of ours unless the flag says we are still here
      // (calling lost() on the freed connection was the bridge's SIGBUS on a relay kill).
      if (owner_ && state == proto::Liveness::State::kNoAnswer) {
        c.close("no answer");
        if (*alive)
          lost("no answer within " + std::to_string(liveness_.rule().answer_within_ms) + " ms");
        return;
      }
      if (!owner_ && state == proto::Liveness::State::kSilent) {
        c.close("relay silent");
        if (*alive)
          lost("relay silent for " + std::to_string(liveness_.rule().silent_after_ms) + " ms");
        return;
      }
      if (c.established() && liveness_.ping_due(now))
        c.send_stream(proto::frame_signal(proto::Ping{++pings_, now}));
      arm();
    });
  }

  QuicSignalConnector* owner_;
  boost::asio::io_context& io_;
  QuicSignalOptions options_;
  Done done_;
  Handlers handlers_;
  std::unique_ptr<transport::QuicClient> client_;
  proto::SignalFrameReader reader_;
  transport::AsioScheduler scheduler_;
  proto::Liveness liveness_;
  uint64_t timer_ = 0;
  uint64_t pings_ = 0;
  bool closing_ = false, reported_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

QuicSignalConnector::QuicSignalConnector(boost::asio::io_context& io, QuicSignalOptions options)
    : io_(io), options_(std::move(options)) {}

QuicSignalConnector::~QuicSignalConnector() {
  *alive_ = false;
  for (auto& [p, c] : pending_) c->owner_ = nullptr;
}

void QuicSignalConnector::connect(const std::string& relay, Done done) {
  const auto a = transport::parse_address(relay);
  if (!a.address) {
    boost::asio::post(io_, [done = std::move(done), e = a.error] { done(nullptr, e); });
    return;
  }
  // Looked up at every connect: a relay that moved to a new address is found on the next one.
  transport::resolve(io_, *a.address,
                     [this, alive = alive_, relay,
                      done = std::move(done)](const transport::EndpointResult& ep) mutable {
                       if (!*alive) return;
                       if (!ep.endpoint) return done(nullptr, ep.error);
                       auto c = std::make_unique<Connection>(*this, *ep.endpoint, relay,
                                                             std::move(done));
                       Connection* raw = c.get();
                       pending_[raw] = std::move(c);
                     });
}

}  // namespace wzp::client
