package testutil

import (
	"math/rand"
	"reflect"
)

// Fill sets v (settable) to a random value, for the tests that hold a
// hand-written JSON codec or decoder to encoding/json's result: every
// settable field of a struct (time.Time, whose fields are not, stays
// zero), a pointer, slice or map three times in four (up to two
// elements), strings with bytes JSON escapes, numbers of both signs and
// large unsigned ones, down to depth 12.
func Fill(v reflect.Value, rnd *rand.Rand) {
	fill(v, rnd, 0)
}

func fill(v reflect.Value, rnd *rand.Rand, depth int) {
	if depth > 12 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), rnd, depth+1)
		}
	case reflect.Pointer:
		if rnd.Intn(4) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), rnd, depth+1)
		}
	case reflect.Slice:
		n := rnd.Intn(3)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := 0; i < n; i++ {
			fill(v.Index(i), rnd, depth+1)
		}
	case reflect.Map:
		n := rnd.Intn(3)
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < n; i++ {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, rnd, depth+1)
			fill(e, rnd, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(string(rune('a'+rnd.Intn(26))) + "<é>\"\x01/x")
	case reflect.Bool:
		v.SetBool(rnd.Intn(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(rnd.Int63n(200) - 100)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Type().Bits() == 64 {
			v.SetUint(uint64(rnd.Int63()))
		} else {
			v.SetUint(uint64(rnd.Intn(200)))
		}
	case reflect.Float32, reflect.Float64:
		v.SetFloat(rnd.Float64())
	}
}
