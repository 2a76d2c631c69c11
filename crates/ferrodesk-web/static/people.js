// The requester box: search as you type (filled in below).
