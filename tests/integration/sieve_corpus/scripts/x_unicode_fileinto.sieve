require ["fileinto", "encoded-character"];
fileinto "${unicode:263A} ${hex:48 69}";
