build/common/config.o: common/config.c /usr/include/iniparser/iniparser.h \
 /usr/include/iniparser/dictionary.h common/config.h common/log.h \
 common/util.h
/usr/include/iniparser/iniparser.h:
/usr/include/iniparser/dictionary.h:
common/config.h:
common/log.h:
common/util.h:
