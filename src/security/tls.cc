#include "security/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sluice::security {

namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string r = ec.message();
  if (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    r = buf;
  }
  ERR_clear_error();
  return r;
}

}  // namespace

result<std::shared_ptr<ssl::context>> tls_context::build() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // TLS 1.3's suites with AES-128-GCM first and the server's order winning: as strong for
  // this use and cheaper than AES-256 on both ends (a consumer's single network thread
  // decrypts everything it reads).
  SSL_CTX_set_ciphersuites(ctx->native_handle(),
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                           "TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  auto bad = [&](const std::string& what, const std::string& file) {
    return make_error(errc::invalid_argument,
                      "TLS: cannot use " + what + " " + file + ": " + openssl_reason(ec));
  };
  if (ctx->use_certificate_chain_file(options_.cert_file, ec); ec)
    return bad("certificate chain", options_.cert_file);
  if (ctx->use_private_key_file(options_.key_file, ssl::context::pem, ec); ec)
    return bad("private key", options_.key_file);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return make_error(errc::invalid_argument, "TLS: the key " + options_.key_file +
                                                  " does not match the certificate " +
                                                  options_.cert_file);
  if (options_.clients != client_auth::none) {
    if (options_.ca_file.empty())
      return make_error(errc::invalid_argument,
                        "TLS: client certificates need a CA file (--tls-ca)");
    if (ctx->load_verify_file(options_.ca_file, ec); ec) return bad("CA file", options_.ca_file);
    ctx->set_verify_mode(options_.clients == client_auth::required
                             ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                             : ssl::verify_peer,
                         ec);
  }
  // Session resumption across reconnects of the same client.
  static constexpr unsigned char k_session_id[] = "sluice";
  SSL_CTX_set_session_id_context(ctx->native_handle(), k_session_id, sizeof k_session_id - 1);
  return ctx;
}

result<std::shared_ptr<tls_context>> tls_context::load(tls_options options) {
  std::shared_ptr<tls_context> t(new tls_context(std::move(options)));
  auto ctx = t->build();
  if (!ctx) return ctx.error();
  t->current_ = std::move(*ctx);
  return t;
}

std::shared_ptr<ssl::context> tls_context::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

result<void> tls_context::reload() {
  auto ctx = build();
  if (!ctx) return ctx.error();
  std::lock_guard lk(mu_);
  current_ = std::move(*ctx);
  return {};
}

std::string tls_context::peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string out;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

}  // namespace sluice::security
