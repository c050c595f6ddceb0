-- dbeaver: the SQL that DBeaver's PostgreSQL plugin (org.jkiss.dbeaver.ext.postgresql)
-- sends to PostgreSQL, taken from its source code (the tool cannot be installed here).
-- Parameters are replaced by the values the tool would bind for database eddy, schema
-- default_database, table orders. Hand-written from the sources named in each entry;
-- record.sh only writes dbeaver.expected. Each entry: '-- [n] <what the tool does>',
-- '-- source: <repo path>@<commit>', optional '-- note:' lines, the statement, then a
-- line holding only ';'. Split the file at lines equal to ';' and drop leading '-- ' lines.

-- [1] connect (each of the Main and Metadata connections): pgjdbc's connection setup
-- source: pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
-- note: DBeaver bundles pgjdbc 42.7.x (assumed to send the same statements)
SET extra_float_digits = 3
;

-- [2] connect: pgjdbc's connection setup
-- source: pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
SET application_name = 'PostgreSQL JDBC Driver'
;

-- [3] connect: setClientInfo(ApplicationName) (PostgreDataSource.openConnection)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21); statement text from pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
SET application_name = 'DBeaver 24.2.3 - Main <eddy>'
;

-- [4] connect: context defaults (PostgreExecutionContext.refreshDefaults)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT current_schema(),session_user
;

-- [5] connect: schema list (PostgreDatabase.SchemaCache; utility schemas hidden client-side)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname
;

-- [6] connect: search path (PostgreExecutionContext.refreshDefaults)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SHOW search_path
;

-- [7] connect: database info (PostgreDatabase.readDatabaseInfo)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: ? = 'eddy'
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='eddy'
;

-- [8] connect: preload setting standard_conforming_strings (PostgreDataSource.SettingCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: ? = 'standard_conforming_strings'
select * from pg_catalog.pg_settings where name='standard_conforming_strings'
;

-- [9] connect: SQL dialect keywords (JDBCSQLDialect.initDriverSettings -> DatabaseMetaData.getSQLKeywords())
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.model.jdbc/src/org/jkiss/dbeaver/model/impl/jdbc/JDBCSQLDialect.java@2428359b748778a5a345432906ab3da69289c20c; statement text from pgjdbc 42.5.5 (Debian libpostgresql-jdbc-java), text from PostgreSQL 15's statement log
select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,catalog,catalog_name,ceil,ceiling,chain,char,char_length,character,character_length,character_set_catalog,character_set_name,character_set_schema,characteristics,characters,check,checked,class_origin,clob,close,coalesce,cobol,code_units,collate,collation,collation_catalog,collation_name,collation_schema,collect,column,column_name,command_function,command_function_code,commit,committed,condition,condition_number,connect,connection_name,constraint,constraint_catalog,constraint_name,constraint_schema,constraints,constructors,contains,continue,convert,corr,corresponding,count,covar_pop,covar_samp,create,cross,cube,cume_dist,current,current_collation,current_date,current_default_transform_group,current_path,current_role,current_time,current_timestamp,current_transform_group_for_type,current_user,cursor,cursor_name,cycle,data,date,datetime_interval_code,datetime_interval_precision,day,deallocate,dec,decimal,declare,default,defaults,deferrable,deferred,defined,definer,degree,delete,dense_rank,depth,deref,derived,desc,describe,descriptor,deterministic,diagnostics,disconnect,dispatch,distinct,domain,double,drop,dynamic,dynamic_function,dynamic_function_code,each,element,else,end,end-exec,equals,escape,every,except,exception,exclude,excluding,exec,execute,exists,exp,external,extract,false,fetch,filter,final,first,float,floor,following,for,foreign,fortran,found,free,from,full,function,fusion,g,general,get,global,go,goto,grant,granted,group,grouping,having,hierarchy,hold,hour,identity,immediate,implementation,in,including,increment,indicator,initially,inner,inout,input,insensitive,insert,instance,instantiable,int,integer,intersect,intersection,interval,into,invoker,is,isolation,join,k,key,key_member,key_type,language,large,last,lateral,leading,left,length,level,like,ln,local,localtime,localtimestamp,locator,lower,m,map,match,matched,max,maxvalue,member,merge,message_length,message_octet_length,message_text,method,min,minute,minvalue,mod,modifies,module,month,more,multiset,mumps,name,names,national,natural,nchar,nclob,nesting,new,next,no,none,normalize,normalized,not,"null",nullable,nullif,nulls,number,numeric,object,octet_length,octets,of,old,on,only,open,option,options,or,order,ordering,ordinality,others,out,outer,output,over,overlaps,overlay,overriding,pad,parameter,parameter_mode,parameter_name,parameter_ordinal_position,parameter_specific_catalog,parameter_specific_name,parameter_specific_schema,partial,partition,pascal,path,percent_rank,percentile_cont,percentile_disc,placing,pli,position,power,preceding,precision,prepare,preserve,primary,prior,privileges,procedure,public,range,rank,read,reads,real,recursive,ref,references,referencing,regr_avgx,regr_avgy,regr_count,regr_intercept,regr_r2,regr_slope,regr_sxx,regr_sxy,regr_syy,relative,release,repeatable,restart,result,return,returned_cardinality,returned_length,returned_octet_length,returned_sqlstate,returns,revoke,right,role,rollback,rollup,routine,routine_catalog,routine_name,routine_schema,row,row_count,row_number,rows,savepoint,scale,schema,schema_name,scope_catalog,scope_name,scope_schema,scroll,search,second,section,security,select,self,sensitive,sequence,serializable,server_name,session,session_user,set,sets,similar,simple,size,smallint,some,source,space,specific,specific_name,specifictype,sql,sqlexception,sqlstate,sqlwarning,sqrt,start,state,statement,static,stddev_pop,stddev_samp,structure,style,subclass_origin,submultiset,substring,sum,symmetric,system,system_user,table,table_name,tablesample,temporary,then,ties,time,timestamp,timezone_hour,timezone_minute,to,top_level_count,trailing,transaction,transaction_active,transactions_committed,transactions_rolled_back,transform,transforms,translate,translation,treat,trigger,trigger_catalog,trigger_name,trigger_schema,trim,true,type,uescape,unbounded,uncommitted,under,union,unique,unknown,unnamed,unnest,update,upper,usage,user,user_defined_type_catalog,user_defined_type_code,user_defined_type_name,user_defined_type_schema,using,value,values,var_pop,var_samp,varchar,varying,view,when,whenever,where,width_bucket,window,with,within,without,work,write,year,zone}'::text[])
;

-- [10] connect: server version (PostgreDataSource.initialize)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT version()
;

-- [11] connect: does pg_enum exist (PostgreUtils.isMetaObjectExists, server >= 12)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/PostgreUtils.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1
;

-- [12] connect: does pg_class.reltype exist (PostgreUtils.isMetaObjectExists)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/PostgreUtils.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1
;

-- [13] connect: data types (PostgreDatabase.cacheDataTypes)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
;

-- [14] connect: enum values (PostgreDatabase.EnumValueCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT * FROM pg_catalog.pg_enum
;

-- [15] connect with 'Show all databases' on: database list (PostgreDataSource.prepareReadDatabaseListStatement)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: ? = 'eddy'
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate OR db.datname ='eddy'
ORDER BY db.datname
;

-- [16] expand schema default_database > Tables (PostgreSchema.TableCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=16386 AND c.relkind not in ('i','I','c')
;

-- [17] open table orders > Columns (PostgreSchema.TableCache.prepareChildrenStatement, one table)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=16387
ORDER BY a.attnum
;

-- [18] columns of every table of the schema (same cache, whole schema: SQL completion, ER diagram)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=16386
ORDER BY a.attnum
;

-- [19] open table orders > Properties: owner (PostgreDatabase.RoleCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a 
left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid
ORDER BY a.rolname
;

-- [20] open table orders > Properties: tablespace (PostgreDatabase.TablespaceCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT t.oid,t.*,pg_tablespace_location(t.oid) loc
FROM pg_catalog.pg_tablespace t 
ORDER BY t.oid
;

-- [21] open table orders > Properties: access method (PostgreDatabase.AccessMethodCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
SELECT am.oid,am.* FROM pg_catalog.pg_am am 
ORDER BY am.oid
;

-- [22] open table orders > Properties: super tables (PostgreTable.initSuperTables)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTable.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT i.*,c.relnamespace FROM pg_catalog.pg_inherits i,pg_catalog.pg_class c WHERE i.inhrelid=16387 AND c.oid=i.inhparent ORDER BY i.inhseqno
;

-- [23] open table orders > Properties > Statistics: disk size (PostgreTableReal.readTableStatistics)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTableReal.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
select pg_catalog.pg_total_relation_size(16387) as total_rel_size,pg_catalog.pg_relation_size(16387) as rel_size
;

-- [24] open table orders > Constraints / Foreign Keys (PostgreSchema.ConstraintCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE c.conrelid=16387
ORDER BY c.oid
;

-- [25] open table orders > Indexes (PostgreSchema.IndexCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid=16387 ORDER BY c.relname
;

-- [26] open table orders > References (PostgreTable.getReferences)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTable.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT DISTINCT connamespace FROM pg_catalog.pg_constraint WHERE confrelid=16387
;

-- [27] open table orders > Triggers (PostgreTableReal.TriggerCache)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTableReal.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16386 is schema default_database and 16387 table orders in record.sh's cluster (bound as int8 by pgjdbc); a test against Eddy substitutes Eddy's OIDs
SELECT x.oid,x.*,p.pronamespace as func_schema_id,d.description
FROM pg_catalog.pg_trigger x
LEFT OUTER JOIN pg_catalog.pg_proc p ON p.oid=x.tgfoid 
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=x.oid AND d.objsubid=0 
WHERE x.tgrelid = 16387 AND NOT x.tgisinternal
;

-- [28] open view cheap > Source (PostgreViewBase: view definition)
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreViewBase.java@2428359b748778a5a345432906ab3da69289c20c (24.2.3+21)
-- note: 16394 is view cheap in record.sh's cluster
SELECT pg_get_viewdef(16394, true)
;

