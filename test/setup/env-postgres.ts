process.env.FIXLOOP_TEST_DB = 'postgres';
