if size :over 1K { discard; } elsif size :under 500 { keep; }
