"""Model definitions: the from-scratch decoder, pretrained bases, adapters, memory planning."""
