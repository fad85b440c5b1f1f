// MessageMemory: the server-wide budget for message bytes held in memory
// while they are received (SMTP DATA/BDAT, IMAP APPEND literals).
//
// Every session reserves as bytes actually arrive, never what a client
// merely announces (an announced-but-unsent 64 MiB literal must not block
// anybody), and a refused session gives its share back at once, so under
// pressure the budget admits what fits and refuses the rest instead of
// letting every concurrent message fail halfway.
//
// IMAP APPEND has caps of its own below the total (all IMAP, per account,
// per client network), so logged-in IMAP users can never take the memory
// that inbound SMTP delivery needs.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailfort::server {

class MessageMemory {
 public:
  struct ImapCaps {
    uint64_t total = 0;     // all IMAP reservations together
    uint64_t per_user = 0;  // one account's sessions
    uint64_t per_ip = 0;    // one client network
  };

  // One session's share. Grows with cover(), shrinks with release(); the
  // destructor gives everything back.
  class Reservation {
   public:
    // SMTP: counted against the total only.
    Reservation(MessageMemory& m, uint64_t total_cap) : memory_(&m), total_cap_(total_cap) {}
    // IMAP: also against `caps` under `user` and `ip`.
    Reservation(MessageMemory& m, uint64_t total_cap, ImapCaps caps, std::string user, std::string ip)
        : memory_(&m),
          total_cap_(total_cap),
          imap_(true),
          caps_(caps),
          user_(std::move(user)),
          ip_(std::move(ip)) {}
    ~Reservation() { release(); }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;

    // Grows the reservation to `size` bytes; false (and unchanged) when a
    // cap would be exceeded. Never shrinks.
    bool cover(uint64_t size);
    // Gives back what is held beyond `size`.
    void shrink_to(uint64_t size);
    void release() { shrink_to(0); }
    uint64_t held() const { return held_; }

   private:
    friend class MessageMemory;
    MessageMemory* memory_;
    uint64_t total_cap_;
    bool imap_ = false;
    ImapCaps caps_;
    std::string user_, ip_;
    uint64_t held_ = 0;
  };

  uint64_t total() const {
    std::lock_guard lock(mu_);
    return total_;
  }
  uint64_t imap_total() const {
    std::lock_guard lock(mu_);
    return imap_total_;
  }

 private:
  bool grow(Reservation& r, uint64_t n);
  void shrink(Reservation& r, uint64_t n);

  mutable std::mutex mu_;
  uint64_t total_ = 0;
  uint64_t imap_total_ = 0;
  std::unordered_map<std::string, uint64_t> by_user_, by_ip_;
};

}  // namespace mailfort::server
