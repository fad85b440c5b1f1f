require ["include"];
include :global "spam-global";
