#include "transport/quic_internal.h"

namespace wzp::transport {

namespace {

const gnutls_datum_t kAlpnDatum{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)), 5};

}  // namespace

gnutls_session_t make_session(bool server, gnutls_certificate_credentials_t cred,
                              ngtcp2_crypto_conn_ref* ref) {
  gnutls_session_t s = nullptr;
  const unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_ENABLE_EARLY_DATA |
                         GNUTLS_NO_END_OF_EARLY_DATA;
  if (gnutls_init(&s, flags) != 0) throw std::runtime_error("tls: gnutls_init");
  if (gnutls_priority_set_direct(s, kPriority, nullptr) != 0 ||
      (server ? ngtcp2_crypto_gnutls_configure_server_session(s)
              : ngtcp2_crypto_gnutls_configure_client_session(s)) != 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) != 0) {
    gnutls_deinit(s);
    throw std::runtime_error("tls: session setup");
  }
  gnutls_session_set_ptr(s, ref);
  gnutls_alpn_set_protocols(s, &kAlpnDatum, 1, GNUTLS_ALPN_MANDATORY);
  return s;
}

}  // namespace wzp::transport
