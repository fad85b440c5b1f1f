require "reject";
reject;