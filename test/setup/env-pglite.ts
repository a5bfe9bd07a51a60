process.env.FIXLOOP_TEST_DB = 'pglite';
