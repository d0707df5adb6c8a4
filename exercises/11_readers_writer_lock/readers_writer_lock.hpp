// A readers-writer lock that does not starve writers.
// Background and interview questions: notes/11_readers_writer_lock.md
#pragma once

#include "workbook_todo.hpp"

namespace wb {

// readers_writer_lock: many readers at once (lock_shared) or one writer alone (lock). Writers
// are preferred: once a writer waits, new readers wait too, so a steady stream of readers
// cannot keep a writer out for ever (a steady stream of writers can keep readers out). It is
// not recursive: a thread that holds it must not lock it again in either mode. It meets the
// standard's Lockable and SharedLockable requirements, so std::unique_lock, std::lock_guard
// and std::shared_lock work with it.
//
// Thread safety: every member may be called concurrently from any thread. The lock does not
// track owners: unlock() is refused only when no writer holds it, unlock_shared() only when no
// reader does (std::system_error, std::errc::operation_not_permitted, nothing changed).
// Lifetime: destroy it only when nobody holds it or is inside a member.
// Build it from one std::mutex guarding three counts/flags (readers inside, writers waiting,
// a writer inside) and two std::condition_variable: one readers wait on, one writers wait on.
// Do not use std::shared_mutex.
class readers_writer_lock {
 public:
  readers_writer_lock() = default;
  readers_writer_lock(const readers_writer_lock&) = delete;
  readers_writer_lock& operator=(const readers_writer_lock&) = delete;

  // Takes the lock for writing: waits until no reader and no other writer is inside. While it
  // waits, new readers wait as well.
  void lock() {
    // TODO: count yourself as a waiting writer; wait in a loop while anyone is inside; then
    // stop waiting and go inside.
    WB_TODO("readers_writer_lock::lock");
  }

  // Like lock(), but never waits: returns false if anyone (reader or writer) is inside.
  bool try_lock() {
    // TODO: go inside only if nobody (reader or writer) is, in one critical section.
    WB_TODO("readers_writer_lock::try_lock");
  }

  // Gives up the write lock and wakes the next writer, or else every waiting reader. Throws
  // std::system_error (std::errc::operation_not_permitted) if no writer holds it.
  void unlock() {
    // TODO: refuse if no writer is inside; leave; wake one waiting writer, or else ALL readers.
    WB_TODO("readers_writer_lock::unlock");
  }

  // Takes the lock for reading: waits while a writer is inside or waiting.
  void lock_shared() {
    // TODO: wait in a loop while a writer is inside OR waiting (that is what stops writer
    // starvation); then count yourself as a reader.
    WB_TODO("readers_writer_lock::lock_shared");
  }

  // Like lock_shared(), but never waits: returns false if a writer is inside or waiting.
  bool try_lock_shared() {
    // TODO: like lock_shared(), but return false instead of waiting.
    WB_TODO("readers_writer_lock::try_lock_shared");
  }

  // Gives up one read lock; the last reader out wakes a waiting writer. Throws
  // std::system_error (std::errc::operation_not_permitted) if no reader holds it.
  void unlock_shared() {
    // TODO: refuse if no reader is inside; count one reader out; the last one wakes a writer.
    WB_TODO("readers_writer_lock::unlock_shared");
  }

 private:
  // TODO: a std::mutex; guarded by it, int readers_ (inside), int writers_waiting_ and bool
  // writer_inside_; two std::condition_variable (readers_turn_, writers_turn_).
};

}  // namespace wb
