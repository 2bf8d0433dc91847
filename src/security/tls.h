#pragma once
// The server's TLS configuration: a certificate chain and key in PEM files, optionally a CA
// to verify clients' certificates (mutual TLS), TLS 1.2 and newer only. Shared by the Kafka
// and HTTP listeners.
//
// reload() (on SIGHUP) reads the files again into a new OpenSSL context; connections being
// accepted from then on use it, open connections keep theirs, so certificates are rotated
// without dropping anyone. Thread-safe.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"

namespace sluice::security {

enum class client_auth {
  none,       // no client certificate asked for
  requested,  // asked for and verified when given
  required,   // a connection without a valid certificate fails its handshake
};

struct tls_options {
  std::string cert_file;  // PEM: the server's certificate, then its chain
  std::string key_file;   // PEM: its private key (unencrypted)
  std::string ca_file;    // PEM: CAs that sign client certificates (needed unless `none`)
  client_auth clients = client_auth::none;
};

class tls_context {
 public:
  // errc::invalid_argument naming the file and OpenSSL's reason when a file cannot be used.
  static result<std::shared_ptr<tls_context>> load(tls_options options);

  // The context for a new connection.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Reads the files again; on failure the current context stays and the error is returned.
  result<void> reload();
  const tls_options& options() const { return options_; }

  // The subject of the peer's verified certificate in RFC 2253 form ("CN=alice,O=Acme"), or
  // empty when there is none.
  static std::string peer_subject(SSL* ssl);

 private:
  explicit tls_context(tls_options o) : options_(std::move(o)) {}
  result<std::shared_ptr<boost::asio::ssl::context>> build() const;

  const tls_options options_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace sluice::security
