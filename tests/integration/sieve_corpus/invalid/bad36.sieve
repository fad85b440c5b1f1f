require "include";
include :personal :global "x";