"""placeholder"""
def mel_filter_table(params):  # noqa
    return None
