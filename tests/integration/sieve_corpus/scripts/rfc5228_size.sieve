if size :over 300 { discard; } elsif size :under 200 { keep; }
